import { lazy, Suspense, useEffect, useState } from 'react';
import { createBrowserRouter, Navigate, NavLink, Outlet, RouterProvider, useNavigate, useRouteError } from 'react-router';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError } from './api/client';
import { SessionContext, useSession } from './lib/session';
import { visibleNav } from './lib/nav';
import { cn } from './lib/utils';
import { Button } from './components/ui';
import { ErrorAlert } from './components/common';
import { LoginPage } from './pages/Login';
import { DashboardPage } from './pages/Dashboard';

const UsersPage = lazy(() => import('./pages/Users'));
const ApiKeysPage = lazy(() => import('./pages/ApiKeys'));
const AuditPage = lazy(() => import('./pages/Audit'));
const SettingsPage = lazy(() => import('./pages/Settings'));
const ProfilePage = lazy(() => import('./pages/Profile'));
const AdaptersPage = lazy(() => import('./pages/Adapters'));
const VaultPage = lazy(() => import('./pages/Vault'));
const JobsPage = lazy(() => import('./pages/Jobs'));
const HistoryPage = lazy(() => import('./pages/History'));
const StoragePage = lazy(() => import('./pages/Storage'));
const SsoProvidersPage = lazy(() => import('./pages/SsoProviders'));
const WorkersPage = lazy(() => import('./pages/Workers'));

/** Shows the login page until there is a session, then the app. */
function AuthGate() {
  const session = useQuery({
    queryKey: ['session'],
    queryFn: async () => {
      try {
        return await api.session();
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return null;
        throw e;
      }
    },
    staleTime: 60_000,
    // 503 while the server is starting (e.g. migrations not applied yet under Spin): keep trying.
    refetchInterval: (q) => (q.state.error instanceof ApiError && q.state.error.status === 503 ? 3000 : false),
  });
  if (session.isPending) return <div className="p-8 text-muted">Loading…</div>;
  if (session.error)
    return (
      <div className="mx-auto max-w-md p-8">
        <ErrorAlert error={session.error} />
        {session.error instanceof ApiError && session.error.status === 503 && (
          <p className="mt-2 text-sm text-muted">The server is starting; retrying every few seconds.</p>
        )}
        <Button className="mt-3" onClick={() => session.refetch()}>
          Retry
        </Button>
      </div>
    );
  if (!session.data) return <LoginPage />;
  return (
    <SessionContext.Provider value={session.data}>
      <Shell />
    </SessionContext.Provider>
  );
}

function useTheme(): [boolean, () => void] {
  const [dark, setDark] = useState(() => document.documentElement.classList.contains('dark'));
  useEffect(() => {
    document.documentElement.classList.toggle('dark', dark);
  }, [dark]);
  return [
    dark,
    () =>
      setDark((d) => {
        try {
          localStorage.setItem('dbackup.theme', d ? 'light' : 'dark');
        } catch {
          /* private mode */
        }
        return !d;
      }),
  ];
}

function Shell() {
  const s = useSession();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [dark, toggleTheme] = useTheme();
  const [menuOpen, setMenuOpen] = useState(false);
  const items = visibleNav(s.permissions);
  const logout = async () => {
    try {
      await api.logout();
    } finally {
      // Back to the login page first (unmounting every page), then forget their cached data.
      qc.setQueryData(['session'], null);
      qc.removeQueries({ predicate: (q) => q.queryKey[0] !== 'session' });
      navigate('/');
    }
  };
  const link = (to: string, label: string) => (
    <NavLink
      key={to}
      to={to}
      onClick={() => setMenuOpen(false)}
      className={({ isActive }) =>
        cn('block rounded-md px-3 py-1.5 text-sm', isActive ? 'bg-primary text-primary-fg' : 'hover:bg-subtle')
      }
    >
      {label}
    </NavLink>
  );
  return (
    <div className="min-h-screen md:flex">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:p-2">
        Skip to content
      </a>
      <header className="flex items-center justify-between border-b border-border bg-card px-4 py-2 md:hidden">
        <span className="font-semibold">dbackup</span>
        <Button variant="ghost" size="sm" aria-expanded={menuOpen} onClick={() => setMenuOpen((o) => !o)}>
          Menu
        </Button>
      </header>
      <aside
        className={cn(
          'w-full shrink-0 border-r border-border bg-card p-3 md:block md:min-h-screen md:w-56',
          menuOpen ? 'block' : 'hidden',
        )}
      >
        <div className="mb-4 hidden items-center gap-2 px-2 md:flex">
          <img src="/favicon.svg" alt="" className="h-6 w-6" />
          <span className="text-lg font-semibold">dbackup</span>
        </div>
        <nav aria-label="Main" className="space-y-0.5">
          {items.filter((i) => i.section === 'main').map((i) => link(i.to, i.label))}
          {items.some((i) => i.section === 'admin') && (
            <p className="px-3 pb-1 pt-4 text-xs font-semibold uppercase text-muted">Administration</p>
          )}
          {items.filter((i) => i.section === 'admin').map((i) => link(i.to, i.label))}
        </nav>
        <div className="mt-6 space-y-1 border-t border-border pt-3">
          {link('/profile', s.user.name || 'Profile')}
          <p className="truncate px-3 text-xs text-muted" data-testid="current-user">
            {s.user.email}
          </p>
          <div className="flex gap-1 px-1 pt-2">
            <Button variant="ghost" size="sm" onClick={toggleTheme} aria-label="Toggle dark mode">
              {dark ? 'Light' : 'Dark'}
            </Button>
            <Button variant="ghost" size="sm" onClick={logout}>
              Sign out
            </Button>
          </div>
        </div>
      </aside>
      <main id="main" className="min-w-0 flex-1 p-4 md:p-8">
        <Suspense fallback={<div className="text-muted">Loading…</div>}>
          <Outlet />
        </Suspense>
      </main>
    </div>
  );
}

const router = createBrowserRouter([
  {
    path: '/',
    element: <AuthGate />,
    errorElement: <Crash />,
    children: [
      { index: true, element: <Navigate to="/dashboard" replace /> },
      { path: 'dashboard', element: <DashboardPage /> },
      { path: 'sources', element: <AdaptersPage kind="database" /> },
      { path: 'destinations', element: <AdaptersPage kind="storage" /> },
      { path: 'notifications', element: <AdaptersPage kind="notification" /> },
      { path: 'jobs', element: <JobsPage /> },
      { path: 'history', element: <HistoryPage /> },
      { path: 'history/:id', element: <HistoryPage /> },
      { path: 'storage', element: <StoragePage /> },
      { path: 'storage/:destinationId', element: <StoragePage /> },
      { path: 'vault', element: <VaultPage /> },
      { path: 'users', element: <UsersPage /> },
      { path: 'api-keys', element: <ApiKeysPage /> },
      { path: 'audit', element: <AuditPage /> },
      { path: 'settings', element: <SettingsPage /> },
      { path: 'workers', element: <WorkersPage /> },
      { path: 'sso-providers', element: <SsoProvidersPage /> },
      { path: 'login', element: <Navigate to="/dashboard" replace /> },
      { path: 'profile', element: <ProfilePage /> },
      { path: '*', element: <NotFound /> },
    ],
  },
]);

/** A page crashed: say so plainly and offer a way back (the details go to the console). */
function Crash() {
  const error = useRouteError();
  useEffect(() => console.error(error), [error]);
  return (
    <div role="alert" className="mx-auto max-w-lg p-8">
      <h1 className="text-xl font-semibold">This page failed</h1>
      <p className="mt-1 text-sm text-muted">{error instanceof Error ? error.message : String(error)}</p>
      <a href="/dashboard" className="mt-3 inline-block text-primary underline">
        Back to the dashboard
      </a>
    </div>
  );
}

function NotFound() {
  return (
    <div>
      <h1 className="text-2xl font-semibold">Page not found</h1>
      <NavLink to="/dashboard" className="text-primary underline">
        Back to the dashboard
      </NavLink>
    </div>
  );
}

export function App() {
  return <RouterProvider router={router} />;
}
