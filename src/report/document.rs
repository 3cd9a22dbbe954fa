//! A result laid out once, drawn in every text format: the model the smaller results (context
//! switch cost, the machine's ceilings, the reference timings, a timeline) are built into, so
//! each gets a terminal table, Markdown, CSV, LaTeX and an HTML page from one description.
//!
//! A [`Document`] is a title and a list of [`Block`]s: facts (the machine, the method), tables,
//! figures, paragraphs and notes. The renderers here decide only layout; every cell's text is
//! decided by whoever builds the document, so a figure reads the same in every format. The run
//! report keeps its own renderers (its table has more to say per format) and shares the page:
//! both end in [`super::html::page`].

use super::csv::csv_field;
use super::latex::escape as latex_escape;
use super::table::{Align, Table};
use super::Format;

/// One part of a [`Document`], in reading order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Block {
    /// A section heading.
    Heading(String),
    /// A paragraph of plain text (no markup: the renderers escape it).
    Text(String),
    /// Name–value lines: the machine, the method.
    Facts(Vec<(String, String)>),
    /// A table, with a short file-name-safe id (its CSV file is `ID.csv`) and a caption.
    Table {
        /// File-name-safe id, unique in the document.
        id: String,
        /// One sentence saying what the table holds.
        caption: String,
        /// The cells.
        table: Table,
    },
    /// A picture written beside the page as `file`, with a text alternative.
    Figure {
        /// File name in the result set (`timeline.svg`).
        file: String,
        /// What the picture shows, in words (the alt text and caption).
        alt: String,
        /// The SVG text.
        svg: String,
    },
    /// Remarks under the tables, one a line.
    Notes(Vec<String>),
}

/// A titled list of blocks; see the module documentation.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Document {
    /// The page title: `concbench ctxswitch: ...`.
    pub(crate) title: String,
    /// The content.
    pub(crate) blocks: Vec<Block>,
}

impl Document {
    /// An empty document with this title.
    pub(crate) fn new(title: impl Into<String>) -> Document {
        Document {
            title: title.into(),
            blocks: Vec::new(),
        }
    }

    /// Append a block.
    pub(crate) fn push(&mut self, block: Block) -> &mut Document {
        self.blocks.push(block);
        self
    }

    /// The tables, in order: `(id, caption, table)`.
    pub(crate) fn tables(&self) -> impl Iterator<Item = (&str, &str, &Table)> {
        self.blocks.iter().filter_map(|b| match b {
            Block::Table { id, caption, table } => Some((id.as_str(), caption.as_str(), table)),
            _ => None,
        })
    }

    /// The figures, in order: `(file, svg)`.
    pub(crate) fn figures(&self) -> Vec<(String, String)> {
        self.blocks
            .iter()
            .filter_map(|b| match b {
                Block::Figure { file, svg, .. } => Some((file.clone(), svg.clone())),
                _ => None,
            })
            .collect()
    }

    /// For the terminal: aligned tables, facts as `name: value`, figures named by file.
    pub(crate) fn to_terminal(&self) -> String {
        let mut out = format!("{}\n", self.title);
        for block in &self.blocks {
            match block {
                Block::Heading(h) => out.push_str(&format!("\n{h}\n")),
                Block::Text(t) => out.push_str(&format!("{t}\n")),
                Block::Facts(facts) => {
                    for (name, value) in facts {
                        out.push_str(&format!("{name}: {value}\n"));
                    }
                }
                Block::Table { caption, table, .. } => {
                    out.push_str(&format!("\n{caption}\n"));
                    out.push_str(&table.to_terminal());
                }
                Block::Figure { .. } => {}
                Block::Notes(notes) => {
                    out.push('\n');
                    for n in notes {
                        out.push_str(&format!("{n}\n"));
                    }
                }
            }
        }
        out
    }

    /// GitHub-flavoured Markdown: `# title`, facts as a list, tables, figures as images.
    pub(crate) fn to_markdown(&self) -> String {
        let mut out = format!("# {}\n", markdown_text(&self.title));
        for block in &self.blocks {
            out.push('\n');
            match block {
                Block::Heading(h) => out.push_str(&format!("## {}\n", markdown_text(h))),
                Block::Text(t) => out.push_str(&format!("{}\n", markdown_text(t))),
                Block::Facts(facts) => {
                    for (name, value) in facts {
                        out.push_str(&format!(
                            "- **{}:** {}\n",
                            markdown_text(name),
                            markdown_text(value)
                        ));
                    }
                }
                Block::Table { caption, table, .. } => {
                    out.push_str(&format!("{}\n\n", markdown_text(caption)));
                    out.push_str(&table.to_markdown());
                }
                Block::Figure { file, alt, .. } => {
                    out.push_str(&format!("![{}]({file})\n", markdown_text(alt)));
                }
                Block::Notes(notes) => {
                    for n in notes {
                        out.push_str(&format!("- *{}*\n", markdown_text(n)));
                    }
                }
            }
        }
        out
    }

    /// Every table as CSV (RFC 4180), one after another with a blank line between, each with
    /// its own header line. [`Document::csv_files`] writes them apart.
    pub(crate) fn to_csv(&self) -> String {
        self.tables()
            .map(|(_, _, t)| table_csv(t))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// One CSV file per table: `(ID.csv, text)`.
    pub(crate) fn csv_files(&self) -> Vec<(String, String)> {
        self.tables()
            .map(|(id, _, t)| (format!("{id}.csv"), table_csv(t)))
            .collect()
    }

    /// Every table as a LaTeX `table` float (booktabs rules, caption, label `tab:ID`), for
    /// `\input` into a report.
    pub(crate) fn to_latex(&self) -> String {
        let mut out = format!(
            "% {}\n% Needs \\usepackage{{booktabs}}.\n",
            self.title.replace('\n', " ")
        );
        for (id, caption, t) in self.tables() {
            let spec: String = t
                .align
                .iter()
                .map(|a| match a {
                    Align::Left => 'l',
                    Align::Right => 'r',
                })
                .collect();
            out.push_str(&format!(
                "\n\\begin{{table}}[htbp]\n\\centering\n\\caption{{{}}}\n\\label{{tab:{id}}}\n\\begin{{tabular}}{{{spec}}}\n\\toprule\n",
                latex_escape(caption)
            ));
            let line = |cells: &[String]| {
                cells
                    .iter()
                    .map(|c| latex_escape(c))
                    .collect::<Vec<_>>()
                    .join(" & ")
            };
            out.push_str(&format!("{} \\\\\n\\midrule\n", line(&t.headers)));
            for r in &t.rows {
                out.push_str(&format!("{} \\\\\n", line(r)));
            }
            out.push_str("\\bottomrule\n\\end{tabular}\n\\end{table}\n");
        }
        out
    }

    /// The self-contained HTML page: the Markdown rendering with every figure inlined.
    pub(crate) fn to_html(&self) -> String {
        super::html::page(&self.to_markdown(), &self.figures())
    }

    /// The files of a result set named after `stem`: `STEM.md`, one CSV per table, `STEM.tex`,
    /// the figures and `report.html`. The caller adds the JSON (the document does not hold it).
    pub(crate) fn files(&self, stem: &str) -> Vec<(String, String)> {
        let mut files = vec![
            (format!("{stem}.md"), self.to_markdown()),
            (format!("{stem}.tex"), self.to_latex()),
        ];
        files.extend(self.csv_files());
        files.extend(self.figures());
        files.push((super::html::PAGE.to_string(), self.to_html()));
        files
    }
}

/// Every file of a document subcommand's `--out` set (`ctxswitch`, `limits`, `refs`):
/// `STEM.txt` (the terminal rendering), `STEM.json` (`json`, the result as written), and the
/// document's [`Document::files`].
pub(crate) fn set_files(doc: &Document, stem: &str, json: String) -> Vec<(String, String)> {
    let mut files = vec![
        (format!("{stem}.txt"), doc.to_terminal()),
        (format!("{stem}.json"), json),
    ];
    files.extend(doc.files(stem));
    files
}

/// A document result's rendering in `format`: its `json` (the result as written) for
/// [`Format::Json`], the document's layout in every other format. What the results laid out as a
/// document (ctxswitch, limits, refs) answer to [`super::Render::render`].
pub(crate) fn render(doc: &Document, json: &str, format: Format) -> String {
    match format {
        Format::Terminal => doc.to_terminal(),
        Format::Json => json.to_string(),
        Format::Markdown => doc.to_markdown(),
        Format::Csv => doc.to_csv(),
        Format::Latex => doc.to_latex(),
    }
}

fn table_csv(t: &Table) -> String {
    let line = |cells: &[String]| {
        let mut l = cells
            .iter()
            .map(|c| csv_field(c))
            .collect::<Vec<_>>()
            .join(",");
        l.push('\n');
        l
    };
    let mut out = line(&t.headers);
    for r in &t.rows {
        out.push_str(&line(r));
    }
    out
}

/// Plain text made safe for Markdown: characters that would start emphasis, links, code or
/// HTML are escaped.
pub(crate) fn markdown_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '\\' | '*' | '_' | '`' | '[' | ']' | '<' | '>' | '|') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Document {
        let mut d = Document::new("concbench test: a <b> & c");
        d.push(Block::Facts(vec![("Machine".into(), "x_y *z*".into())]))
            .push(Block::Table {
                id: "main".into(),
                caption: "Two rows, one with a comma".into(),
                table: Table {
                    headers: vec!["name".into(), "value".into()],
                    align: vec![Align::Left, Align::Right],
                    rows: vec![
                        vec!["a,b".into(), "1.00 µs".into()],
                        vec!["50%".into(), "2".into()],
                    ],
                },
            })
            .push(Block::Figure {
                file: "f.svg".into(),
                alt: "a picture".into(),
                svg: "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"/>"
                    .into(),
            })
            .push(Block::Notes(vec!["a note".into()]));
        d
    }

    #[test]
    fn every_format_holds_every_cell() {
        let d = sample();
        let md = d.to_markdown();
        assert!(md.starts_with("# concbench test: a \\<b\\> & c\n"));
        assert!(md.contains("- **Machine:** x\\_y \\*z\\*"));
        assert!(md.contains("| a,b  | 1.00 µs |"));
        assert!(md.contains("![a picture](f.svg)"));
        let csv = d.to_csv();
        assert_eq!(csv, "name,value\n\"a,b\",1.00 µs\n50%,2\n");
        let tex = d.to_latex();
        assert!(tex.contains("\\begin{tabular}{lr}"));
        assert!(tex.contains("50\\% & 2 \\\\"));
        assert!(tex.contains("\\label{tab:main}"));
        let term = d.to_terminal();
        assert!(term.contains("a,b   1.00 µs"));
        assert!(term.contains("a note"));
    }

    #[test]
    fn files_name_every_part() {
        let names: Vec<String> = sample().files("x").into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["x.md", "x.tex", "main.csv", "f.svg", "report.html"]);
    }
}
