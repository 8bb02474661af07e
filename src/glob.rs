//! The one glob dialect of specs (`files("/app/**/*.py")`, `context.files("src/*")`): `*` stays
//! within a directory, `**` crosses them, `\` escapes. The compiler checks patterns with it and
//! every observer matches with it, so a pattern that validates means the same everywhere.

/// Compiles `pattern` in the spec dialect.
pub fn compile(pattern: &str) -> Result<globset::GlobMatcher, globset::Error> {
    Ok(globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()?
        .compile_matcher())
}
