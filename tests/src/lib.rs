//! Helpers for the integration tests (HTTP client, fixtures, paths).
