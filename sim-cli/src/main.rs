//! The `simctl` binary: the process around [`sim_cli::run`].

use std::io;

/// The YAML parser recurses once per nesting level; at the depth limit an unoptimised
/// build needs a few MiB of stack, more than a default thread has. Run on a thread with room.
const STACK_BYTES: usize = 64 * 1024 * 1024;

fn main() {
    let worker = std::thread::Builder::new()
        .name("simctl".into())
        .stack_size(STACK_BYTES)
        .spawn(|| {
            let env = sim_cli::Env::from_process();
            let mut out = io::BufWriter::new(io::stdout().lock());
            // `run` flushes `out` and reports a failure to write it (a full disk).
            sim_cli::run(
                std::env::args_os(),
                &mut io::stdin().lock(),
                &mut out,
                &mut io::stderr(),
                &env,
            )
        });
    let code = match worker.map(|w| w.join()) {
        Ok(Ok(code)) => code,
        _ => {
            eprintln!("simctl: internal error (this is a bug; please report it with the input)");
            70
        }
    };
    std::process::exit(code);
}
