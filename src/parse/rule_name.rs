//! Every grammar rule as a phrase a spec author understands. The match is
//! exhaustive: a new rule does not compile until it has a readable name.

use super::grammar::Rule;

/// The phrase for "expected ...", or None for rules that never stand alone
/// in a message.
pub(super) fn phrase(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "the end of the statement",
        Rule::file => "a statement",
        Rule::story => "`story \"ID\" \"TITLE\"`",
        Rule::let_stmt => "`let NAME = VALUE`",
        Rule::subject
        | Rule::image_build
        | Rule::image_existing
        | Rule::container_run
        | Rule::stack_compose
        | Rule::command_host
        | Rule::task_run
        | Rule::request_call => {
            "a subject (`image`, `container`, `stack`, `command`, `task`, `request`)"
        }
        Rule::block => "a settings block `{ ... }`",
        Rule::setting | Rule::setting_name => "a setting",
        Rule::key_value => "`KEY = VALUE`",
        Rule::mount_arg => "`\"HOST\" at \"PATH\"`",
        Rule::criterion => "`criterion ID \"TITLE\" { ... }`",
        Rule::attribute => "an attribute like `@tag security`",
        Rule::expect_stmt => "`expect`",
        Rule::do_stmt => "`do`",
        Rule::compare | Rule::cmp_op => "a comparison (`==`, `!=`, `<`, `<=`, `>`, `>=`)",
        Rule::in_pred => "`in`",
        Rule::matches_pred => "`matches`",
        Rule::contains_pred => "`contains`",
        Rule::is_pred => "`is`",
        Rule::is_what => "`empty` or `json`",
        Rule::modifier => "`within` or `for`",
        Rule::path => "a property path like `app.size`",
        Rule::field => "`.property`",
        Rule::index => "`[...]`",
        Rule::each => "`[*]`",
        Rule::object | Rule::member => "a JSON object like `{\"status\": \"ok\"}`",
        Rule::null => "`null`",
        Rule::call_args => "`(...)`",
        Rule::value | Rule::range_end | Rule::list => "a value",
        Rule::boolean => "`true` or `false`",
        Rule::port_map => "a port mapping like `18080:8000`",
        Rule::quantity => "a number, size like `200MB` or duration like `30s`",
        Rule::string | Rule::str_text | Rule::str_escape => "a string",
        Rule::str_interp | Rule::interp_name | Rule::interp_rest => {
            "`${name}` or `${subject.property}`"
        }
        Rule::regex | Rule::regex_body | Rule::regex_flags => "a regex like `/ERROR/`",
        Rule::ident => "a name",
        Rule::name_token => "a name",
        Rule::kw_story => "`story`",
        Rule::kw_let => "`let`",
        Rule::kw_image => "`image`",
        Rule::kw_container => "`container`",
        Rule::kw_stack => "`stack`",
        Rule::kw_command => "`command`",
        Rule::kw_build => "`build` or `existing`",
        Rule::kw_existing => "`build` or `existing`",
        Rule::kw_run => "`run`",
        Rule::kw_compose => "`compose`",
        Rule::kw_host => "`host`",
        Rule::kw_task => "`task`",
        Rule::kw_request => "`request`",
        Rule::kw_criterion => "`criterion`",
        Rule::kw_expect => "`expect`",
        Rule::kw_do => "`do`",
        Rule::kw_in => "`in`",
        Rule::kw_is => "`is`",
        Rule::kw_not => "`not`",
        Rule::kw_matches => "`matches`",
        Rule::kw_contains => "`contains`",
        Rule::kw_within => "`within`",
        Rule::kw_for => "`for`",
        Rule::kw_at => "`at`",
        Rule::statement | Rule::inner => "a statement",
        Rule::setting_arg => "a value for the setting",
        Rule::predicate => "a comparison, `in`, `matches`, `contains` or `is`",
        Rule::segment => "`.property`",
        Rule::scalar => "a value",
        Rule::digits | Rule::unit => "a number",
        Rule::name | Rule::name_char => "a name",
        Rule::sep => "the end of the line",
        Rule::reserved | Rule::WHITESPACE | Rule::COMMENT => return None,
    })
}

/// A `help:` line for a syntax error, from what was expected.
pub(super) fn help(positives: &[Rule], found: &str) -> String {
    let has = |r: Rule| positives.contains(&r);
    if has(Rule::kw_story) || has(Rule::kw_expect) && has(Rule::kw_let) {
        return "a line starts with `story`, `let`, `image`, `container`, `stack`, `command`, `task`, `request`, `criterion`, `expect` or `do`".into();
    }
    if has(Rule::cmp_op) || has(Rule::compare) {
        return "after the property comes a comparison (`== != < <= > >=`), `in`, `matches`, `contains`, `is empty`, `is json`, or the end of the line".into();
    }
    if has(Rule::value) || has(Rule::quantity) || has(Rule::string) {
        return "values are strings (\"...\"), numbers, sizes (`200MB`), durations (`30s`), percentages (`10%`), regexes (`/.../`), `true`/`false`, lists (`[...]`), JSON objects (`{\"k\": 1}`) or names".into();
    }
    if has(Rule::ident) {
        return "names start with a letter or `_` and contain letters, digits, `_` and `-`".into();
    }
    if found == "{" {
        return "a settings block starts on the same line as its subject".into();
    }
    if has(Rule::EOI) || has(Rule::sep) {
        // The statement could have ended here: something follows it on its line.
        return "one statement per line; separate statements on one line with `;`".into();
    }
    if has(Rule::call_args) || has(Rule::field) || has(Rule::index) {
        return "a path continues with `.property`, `(...)` arguments or `[...]`".into();
    }
    "see the language reference for what may come here".into()
}
