import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { ApiError, setUnauthorizedHandler } from './api/client';
import { App } from './App';
import './index.css';

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 10_000,
      refetchOnWindowFocus: false,
      // Retry network hiccups, never a definite answer from the server.
      retry: (n, e) => !(e instanceof ApiError && e.status > 0) && n < 2,
    },
  },
});
// A 401 anywhere means the session ended: back to the login page.
setUnauthorizedHandler(() => queryClient.setQueryData(['session'], null));

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <QueryClientProvider client={queryClient}>
        <App />
      </QueryClientProvider>
    </StrictMode>,
  );
}
