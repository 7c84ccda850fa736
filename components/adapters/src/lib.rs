//! Serves /api/adapters: sources, destinations, notification channels.
//! Its routes land with their issue; until then every request is a JSON 404.

use spin_sdk::http::{Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(_req: Request) -> Response {
    dbackup_web::not_found()
}
