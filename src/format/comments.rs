//! Finds the comments of a spec file: `#` outside strings and regexes.

#[derive(Clone, Debug)]
pub struct Comment {
    /// 1-based line.
    pub line: usize,
    /// `# ...` without trailing spaces.
    pub text: String,
    /// After code on the same line.
    pub trailing: bool,
}

pub fn collect(text: &str) -> Vec<Comment> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut in_str = false;
        let mut in_re = false;
        let mut escaped = false;
        for (pos, c) in line.char_indices() {
            if escaped {
                escaped = false;
                continue;
            }
            match c {
                '\\' if in_str || in_re => escaped = true,
                '"' if !in_re => in_str = !in_str,
                '/' if !in_str => in_re = !in_re,
                '#' if !in_str && !in_re => {
                    out.push(Comment {
                        line: i + 1,
                        text: line[pos..].trim_end().to_string(),
                        trailing: !line[..pos].trim().is_empty(),
                    });
                    break;
                }
                _ => {}
            }
        }
    }
    out
}
