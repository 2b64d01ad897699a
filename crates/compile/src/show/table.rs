//! A plain table: printed aligned for people, as JSON objects for scripts.

use serde_json::{Map, Value};

#[derive(Debug, Clone)]
pub struct Table {
    pub title: String,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
    /// Lines printed under the table (totals, notes).
    pub notes: Vec<String>,
}

/// A cell keeps its typed value for JSON and its text for the terminal.
#[derive(Debug, Clone)]
pub struct Cell {
    pub text: String,
    pub json: Value,
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell {
            text: s.to_string(),
            json: Value::String(s.to_string()),
        }
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell {
            json: Value::String(s.clone()),
            text: s,
        }
    }
}

impl From<u64> for Cell {
    fn from(n: u64) -> Self {
        Cell {
            text: n.to_string(),
            json: Value::from(n),
        }
    }
}

impl From<bool> for Cell {
    fn from(b: bool) -> Self {
        Cell {
            text: if b { "yes" } else { "no" }.to_string(),
            json: Value::Bool(b),
        }
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map(Into::into).unwrap_or(Cell {
            text: "-".to_string(),
            json: Value::Null,
        })
    }
}

impl Cell {
    /// A number shown with its unit but kept as a plain number in JSON.
    pub(crate) fn with_text(json: impl Into<Value>, text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            json: json.into(),
        }
    }
}

impl Table {
    pub fn new(title: impl Into<String>, columns: &[&'static str]) -> Table {
        Table {
            title: title.into(),
            columns: columns.to_vec(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<Cell>) {
        debug_assert_eq!(cells.len(), self.columns.len());
        self.rows.push(cells);
    }

    /// Aligned columns, a title line and a rule under the header.
    pub fn text(&self) -> String {
        let mut widths: Vec<usize> = self.columns.iter().map(|c| c.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.text.chars().count());
            }
        }
        let line = |cells: Vec<&str>| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}", w = *w))
                .collect();
            padded.join("  ").trim_end().to_string() + "\n"
        };
        let mut out = format!("{}\n\n", self.title);
        out.push_str(&line(self.columns.clone()));
        out.push_str(&line(
            widths
                .iter()
                .map(|w| "─".repeat(*w))
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str)
                .collect(),
        ));
        for row in &self.rows {
            out.push_str(&line(row.iter().map(|c| c.text.as_str()).collect()));
        }
        for note in &self.notes {
            out.push('\n');
            out.push_str(note);
        }
        if !self.notes.is_empty() {
            out.push('\n');
        }
        out
    }

    /// The rows as JSON objects keyed by column name.
    pub fn json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|row| {
                let mut obj = Map::new();
                for (col, cell) in self.columns.iter().zip(row) {
                    obj.insert(col.replace(' ', "_").to_lowercase(), cell.json.clone());
                }
                Value::Object(obj)
            })
            .collect();
        Value::Array(rows)
    }
}
