//! The web console over real HTTPS, page by page: what each page shows, what its forms change
//! (through the same library code as the service API, checked through that API), and the
//! guard in front of it (host allow-list, anti-CSRF token, Origin, read-only sessions).
//! The browser-driven tests are in `tests/tests/console_browser.rs`.

mod support;

mod activity;
mod certificates;
mod create;
mod enrollments;
mod guard;
mod registrations;
