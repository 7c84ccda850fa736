//! Writes the container's test vectors (`dbackup_worker::format::vectors`) into a folder:
//! `cargo xtask format-vectors` runs it for docs/format-vectors. Usage: `format_vectors <dir>`.

fn main() {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: format_vectors <dir>");
        std::process::exit(2);
    };
    let dir = std::path::PathBuf::from(dir);
    if let Err(e) = dbackup_worker::format::vectors::write_all(&dir) {
        eprintln!("format_vectors: {}: {e}", dir.display());
        std::process::exit(1);
    }
}
