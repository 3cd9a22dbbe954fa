//! `report.html`: one self-contained page per result set, made from the set's Markdown.
//!
//! Every result set (`run`, `lab`, `timeline`, `ctxswitch`, `limits`, `refs`, `collect`) already
//! has a Markdown rendering that says everything its tables and plots say; the page is that
//! Markdown turned into HTML (pulldown-cmark, GitHub tables), with each SVG the Markdown links
//! put inside the page as a `data:` image carrying its text alternative. So the page computes
//! no figure of its own, and reads the same as `report.md`.
//!
//! Self-contained means it opens from a USB stick with the network off: no script, no font, no
//! style sheet or image outside the file; a Content-Security-Policy forbids fetching anything
//! but the inlined images, and links to web addresses are printed as text. Raw HTML in the
//! Markdown is shown as text, never interpreted: a results file from someone else cannot put a
//! script in the page. It prints to A4 PDF with tables and figures kept whole.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};

use crate::text::xml_escape as escape;

/// The file name of the page in every result set.
pub(crate) const PAGE: &str = "report.html";

const STYLE: &str = r#"
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  max-width: 76rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; color: #1a1a1a; background: #fff; }
h1 { font-size: 1.6rem; margin-bottom: .5rem; }
h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
h3 { font-size: 1.05rem; margin-top: 1.5rem; }
.wide { overflow-x: auto; margin: 1rem 0; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: .88rem; }
th, td { border: 1px solid #c8c8c8; padding: .25rem .5rem; vertical-align: top; }
td[style*="right"], th[style*="right"] { white-space: nowrap; }
th { background: #f0f0f0; }
tbody tr:nth-child(even) { background: #fafafa; }
figure { margin: 1.2rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .85rem; color: #444; margin-top: .3rem; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .85em;
  background: #f4f4f4; padding: 0 .2em; border-radius: 3px; overflow-wrap: anywhere; }
pre { background: #f4f4f4; padding: .6rem; overflow-x: auto; }
footer { margin-top: 3rem; font-size: .8rem; color: #666; }
@page { size: A4; margin: 14mm; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 10pt; }
  table { font-size: 8pt; }
  .wide { overflow: visible; }
  table, figure, tr { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  a { color: inherit; text-decoration: none; }
}
"#;

/// The page for `markdown`, with each image whose address is the file name of one of
/// `figures` (`(file, svg)`) inlined. The title is the Markdown's first `# ` heading.
pub fn page(markdown: &str, figures: &[(String, String)]) -> String {
    let title = markdown
        .lines()
        .find_map(|l| l.strip_prefix("# "))
        .unwrap_or("concbench")
        .replace('\\', "");
    let body = body(markdown, figures);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">\n\
         <meta name=\"generator\" content=\"concbench {version}\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}</main>\n\
         <footer>Written by concbench {version}. Every figure on this page is a field of the result set's JSON file beside it.</footer>\n\
         </body>\n</html>\n",
        version = env!("CARGO_PKG_VERSION"),
        title = escape(&title),
    )
}

/// The HTML of the Markdown's body: see [`page`].
fn body(markdown: &str, figures: &[(String, String)]) -> String {
    let mut events: Vec<Event> = Vec::new();
    let mut parser = Parser::new_ext(markdown, Options::ENABLE_TABLES);
    // Links to the web become their text followed by the address, so the page fetches nothing
    // and a printed copy still shows where it pointed.
    let mut open_web_links: Vec<String> = Vec::new();
    while let Some(event) = parser.next() {
        match event {
            Event::Html(h) | Event::InlineHtml(h) => events.push(Event::Text(h)),
            Event::Start(Tag::Table(align)) => {
                events.push(Event::Html(CowStr::Borrowed("<div class=\"wide\">\n")));
                events.push(Event::Start(Tag::Table(align)));
            }
            Event::End(TagEnd::Table) => {
                events.push(Event::End(TagEnd::Table));
                events.push(Event::Html(CowStr::Borrowed("</div>\n")));
            }
            Event::Start(Tag::Image { dest_url, .. }) => {
                let mut alt = String::new();
                for inner in parser.by_ref() {
                    match inner {
                        Event::End(TagEnd::Image) => break,
                        Event::Text(t) | Event::Code(t) => alt.push_str(&t),
                        _ => {}
                    }
                }
                match figures.iter().find(|(file, _)| *file == *dest_url) {
                    Some((_, svg)) => events.push(Event::Html(CowStr::from(figure(&alt, svg)))),
                    None => events.push(Event::Text(CowStr::from(format!(
                        "[picture not included: {alt} ({dest_url})]"
                    )))),
                }
            }
            Event::Start(Tag::Link { ref dest_url, .. }) if is_web(dest_url) => {
                open_web_links.push(dest_url.to_string());
            }
            Event::End(TagEnd::Link) if !open_web_links.is_empty() => {
                let url = open_web_links.pop().unwrap_or_default();
                events.push(Event::Text(CowStr::from(format!(" ({url})"))));
            }
            other => events.push(other),
        }
    }
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    html
}

/// Whether a link leaves the file (a web address, or a scheme-relative one).
fn is_web(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with("http:") || lower.starts_with("https:") || lower.starts_with("//")
}

/// A figure: the SVG as a `data:` image (its own document, so two plots' ids and styles never
/// meet) with `alt` as its text alternative and caption.
fn figure(alt: &str, svg: &str) -> String {
    format!(
        "<figure>\n<img src=\"data:image/svg+xml;base64,{}\" alt=\"{}\">\n<figcaption>{}</figcaption>\n</figure>\n",
        base64(svg.as_bytes()),
        escape(alt),
        escape(alt)
    )
}

/// Standard base64 with padding (RFC 4648).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn page_inlines_figures_and_fetches_nothing() {
        let md = "# A \\<title\\>\n\nSee [the trace](https://ui.perfetto.dev) and [data](results.csv).\n\n\
                  | a | b |\n|:--|--:|\n| x | 1 |\n\n![speedup against workers](speedup.svg)\n\n\
                  ![missing](other.svg)\n\n<script>alert(1)</script>\n";
        let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_string();
        let html = page(md, &[("speedup.svg".into(), svg)]);
        assert!(html.contains("<title>A &lt;title&gt;</title>"));
        assert!(html.contains("<table>"));
        assert!(html.contains("<img src=\"data:image/svg+xml;base64,"));
        assert!(html.contains("alt=\"speedup against workers\""));
        assert!(html.contains("the trace (https://ui.perfetto.dev)"));
        assert!(html.contains("href=\"results.csv\""));
        assert!(!html.contains("href=\"http"));
        assert!(html.contains("[picture not included: missing (other.svg)]"));
        assert!(!html.contains("<script"));
        assert!(html.contains("&lt;script&gt;"));
    }
}
