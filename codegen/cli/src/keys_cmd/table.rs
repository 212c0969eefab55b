//! Aligned columns and terminal-safe text, for every table the commands print.

/// Keeps terminal control characters stored in names out of the terminal.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

/// Rows of cells (the first row the header) as lines with the columns lined up, two
/// spaces apart, without trailing spaces.
pub(crate) fn columns(cells: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for row in cells {
        for (i, cell) in row.iter().enumerate() {
            let width = cell.chars().count();
            match widths.get_mut(i) {
                Some(w) => *w = (*w).max(width),
                None => widths.push(width),
            }
        }
    }
    let mut out = String::new();
    for row in cells {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                line.push_str(&" ".repeat(w - cell.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_and_controls_are_replaced() {
        let cells = vec![
            vec!["A".to_owned(), "B".to_owned(), "C".to_owned()],
            vec!["long".to_owned(), String::new(), "x".to_owned()],
        ];
        assert_eq!(columns(&cells), "A     B  C\nlong     x\n");
        assert_eq!(printable("a\u{1b}[31mb"), "a\u{fffd}[31mb");
    }
}
