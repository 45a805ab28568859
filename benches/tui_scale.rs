//! The TUI at the size of real estates (issue 9): a domain of 10,000 GPOs in the tree, then one
//! of 100,000 (the folder of all GPOs is a list of 100,000 rows), on ratatui's TestBackend at
//! 120x40. Prints the time from the data arriving to the first frame, the slowest keypress of
//! each kind (handled and drawn), and the process's peak memory (VmHWM). Targets: first frame
//! ≤ 200 ms, keypress ≤ 50 ms, memory < 200 MB. Figures, not pass/fail.
//!
//! The TUI lives in the binary, not the library, so this bench builds its modules from their
//! files, as the binary does. What the bench does not use (most of the app, and the TUI's tests
//! when built in test mode) is unused here on purpose; the binary's own build lints it.

#![allow(unused)]

#[path = "../src/front.rs"]
mod front;
#[path = "../src/tui/mod.rs"]
mod tui;

use std::time::Duration;

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let profile = if cfg!(debug_assertions) { "unoptimised (dev profile)" } else { "optimised (bench profile)" };
    println!("gpvault TUI scale, {profile}, TestBackend 120x40");
    for gpos in [10_000, 100_000] {
        let figures = tui::scale::measure(gpos);
        println!();
        println!("{gpos} GPOs");
        println!("  first frame after the data arrives   {:>10}", ms(figures.first_frame));
        for (what, slowest, presses) in &figures.keys {
            println!("  {what:<36} {:>10}  (slowest of {presses})", ms(*slowest));
        }
        match figures.peak_kib {
            Some(kib) => println!("  peak memory (VmHWM) so far            {:>7.1} MiB", kib as f64 / 1024.0),
            None => println!("  peak memory: /proc/self/status not readable"),
        }
        println!("  slowest keypress                     {:>10}", ms(figures.slowest_key()));
    }
}
