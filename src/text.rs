//! Text helpers every renderer shares: durations with a sensible unit, XML escaping, round axis
//! steps. Pure functions over numbers and strings; nothing here knows about runs or reports.

/// Format a duration in seconds with a unit that keeps 3–4 significant digits.
pub fn format_seconds(s: f64) -> String {
    if !s.is_finite() {
        "-".into()
    } else if s >= 1.0 {
        format!("{s:.3} s")
    } else if s >= 1e-3 {
        format!("{:.2} ms", s * 1e3)
    } else if s >= 1e-6 || s == 0.0 {
        format!("{:.1} µs", s * 1e6)
    } else {
        format!("{:.0} ns", s * 1e9)
    }
}

/// Escape text for XML character data and attribute values (SVG files, titles, labels).
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Axis steps of 1, 2 and 5 × 10^k.
pub(crate) const STEPS_1_2_5: &[f64] = &[1.0, 2.0, 5.0];
/// Axis steps of 1, 2, 2.5 and 5 × 10^k (finer, for short axes such as speedups).
pub(crate) const STEPS_1_2_25_5: &[f64] = &[1.0, 2.0, 2.5, 5.0];

/// The smallest step `m × 10^k` (m from `mantissas`, ascending, all in [1, 10)) that is at least
/// `raw`; 1.0 for a non-positive or non-finite `raw`.
pub(crate) fn nice_step(raw: f64, mantissas: &[f64]) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(raw.log10().floor());
    mantissas
        .iter()
        .map(|m| m * p)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * p)
}

/// A number as people type it, in the shorter of plain and exponent notation: `-0` is `0`,
/// `1e-320` stays `1e-320` (not 320 digits), `0.5` stays `0.5`.
pub fn format_number(v: f64) -> String {
    let v = if v == 0.0 { 0.0 } else { v };
    let plain = v.to_string();
    let exp = format!("{v:e}");
    if plain.len() > 15 && exp.len() < plain.len() {
        exp
    } else {
        plain
    }
}

/// A byte count with a binary unit: `8 B`, `1 MiB`, `1.5 GiB`.
pub(crate) fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if v.fract() == 0.0 {
        format!("{v:.0} {}", UNITS[unit])
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_short() {
        assert_eq!(format_number(-0.0), "0");
        assert_eq!(format_number(1e-320), "1e-320");
        assert_eq!(format_number(0.5), "0.5");
        assert_eq!(format_number(10.0), "10");
        assert_eq!(format_number(60000.0), "60000");
        assert_eq!(format_number(1e300), "1e300");
    }

    #[test]
    fn seconds_keep_their_digits() {
        assert_eq!(format_seconds(1.5), "1.500 s");
        assert_eq!(format_seconds(0.0123), "12.30 ms");
        assert_eq!(format_seconds(2e-5), "20.0 µs");
        assert_eq!(format_seconds(5e-8), "50 ns");
        assert_eq!(format_seconds(f64::NAN), "-");
    }

    #[test]
    fn xml_specials_are_escaped() {
        assert_eq!(xml_escape("a<b & 'c'\u{1}"), "a&lt;b &amp; &apos;c&apos; ");
    }

    #[test]
    fn nice_steps_round_up() {
        assert_eq!(nice_step(0.7, STEPS_1_2_5), 1.0);
        assert_eq!(nice_step(30.0, STEPS_1_2_5), 50.0);
        assert_eq!(nice_step(3.0, STEPS_1_2_5), 5.0);
        assert_eq!(nice_step(0.0, STEPS_1_2_5), 1.0);
        assert_eq!(nice_step(2.1 / 5.0, STEPS_1_2_25_5), 0.5);
        assert_eq!(nice_step(8.5 / 5.0, STEPS_1_2_25_5), 2.0);
        assert_eq!(nice_step(1.2 / 5.0, STEPS_1_2_25_5), 0.25);
    }
}
