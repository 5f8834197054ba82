//! A GraphQL lexer that reads just enough to count a document's tokens and
//! find its operations before anything parses it, in one pass and without
//! allocating: the token limit must hold before a full parse, and the HTTP
//! layer must know whether a GET would run a mutation (and log the
//! operation's name) without parsing the document twice.

use async_graphql::parser::types::OperationType;

/// A lexical token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Token<'a> {
    /// A name: `query`, `province`, `GD`.
    Name(&'a str),
    /// A number, a string or a block string.
    Value,
    /// A punctuator (`{`, `(`, `...`, `@`, ...) or a character the parser
    /// will refuse.
    Punctuator(&'a str),
}

/// The tokens of a document; white space, commas and comments are not
/// tokens.
pub(super) struct Lexer<'a> {
    query: &'a str,
    index: usize,
}

impl<'a> Lexer<'a> {
    /// Lexes `query`.
    pub(super) fn new(query: &'a str) -> Self {
        Self { query, index: 0 }
    }
}

impl<'a> Iterator for Lexer<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        let bytes = self.query.as_bytes();
        loop {
            let start = self.index;
            let byte = *bytes.get(start)?;
            match byte {
                b' ' | b'\t' | b'\n' | b'\r' | b',' => self.index += 1,
                b'#' => {
                    while self.index < bytes.len() && bytes[self.index] != b'\n' {
                        self.index += 1;
                    }
                }
                b'"' if bytes[start..].starts_with(b"\"\"\"") => {
                    self.index += 3;
                    while self.index < bytes.len() && !bytes[self.index..].starts_with(b"\"\"\"") {
                        self.index += if bytes[self.index..].starts_with(b"\\\"\"\"") {
                            4
                        } else {
                            1
                        };
                    }
                    self.index = (self.index + 3).min(bytes.len());
                    return Some(Token::Value);
                }
                b'"' => {
                    self.index += 1;
                    while self.index < bytes.len()
                        && bytes[self.index] != b'"'
                        && bytes[self.index] != b'\n'
                    {
                        self.index += if bytes[self.index] == b'\\' { 2 } else { 1 };
                    }
                    self.index = (self.index + 1).min(bytes.len());
                    return Some(Token::Value);
                }
                b'.' if bytes[start..].starts_with(b"...") => {
                    self.index += 3;
                    return Some(Token::Punctuator("..."));
                }
                byte if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' => {
                    while self.index < bytes.len()
                        && (bytes[self.index].is_ascii_alphanumeric()
                            || matches!(bytes[self.index], b'_' | b'.' | b'-' | b'+'))
                    {
                        self.index += 1;
                    }
                    let text = &self.query[start..self.index];
                    return Some(if byte.is_ascii_alphabetic() || byte == b'_' {
                        Token::Name(text)
                    } else {
                        Token::Value
                    });
                }
                _ => {
                    let width = self.query[start..].chars().next().map_or(1, char::len_utf8);
                    self.index += width;
                    return Some(Token::Punctuator(&self.query[start..self.index]));
                }
            }
        }
    }
}

/// Counts the tokens of a document, stopping once past `stop_after`.
pub(super) fn count_tokens(query: &str, stop_after: usize) -> usize {
    Lexer::new(query).take(stop_after.saturating_add(1)).count()
}

/// An operation a document defines, as its top-level tokens give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationHead<'a> {
    /// Query, mutation or subscription.
    pub kind: OperationType,
    /// Its name, if it has one.
    pub name: Option<&'a str>,
}

/// The operations a document defines, in order, read from its top-level
/// tokens. For a document that parses, this is what the parser finds; for
/// one that does not, it is a guess that execution will refuse anyway.
pub(super) fn operations(query: &str) -> Vec<OperationHead<'_>> {
    let mut found = Vec::new();
    let mut depth = 0usize;
    let mut in_definition = false;
    let mut tokens = Lexer::new(query).peekable();
    while let Some(token) = tokens.next() {
        match token {
            Token::Punctuator("{" | "(" | "[") => {
                if depth == 0 && !in_definition {
                    // A bare selection set: an anonymous query.
                    found.push(OperationHead {
                        kind: OperationType::Query,
                        name: None,
                    });
                    in_definition = true;
                }
                depth += 1;
            }
            Token::Punctuator("}" | ")" | "]") => {
                depth = depth.saturating_sub(1);
                if depth == 0 && token == Token::Punctuator("}") {
                    in_definition = false;
                }
            }
            Token::Punctuator("@") => {
                // A directive's name is not a keyword.
                tokens.next();
            }
            Token::Name(keyword) if depth == 0 && !in_definition => {
                let kind = match keyword {
                    "query" => Some(OperationType::Query),
                    "mutation" => Some(OperationType::Mutation),
                    "subscription" => Some(OperationType::Subscription),
                    _ => None,
                };
                in_definition = true;
                if let Some(kind) = kind {
                    let name = match tokens.peek() {
                        Some(Token::Name(name)) => Some(*name),
                        _ => None,
                    };
                    found.push(OperationHead { kind, name });
                }
            }
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(kind: OperationType, name: Option<&str>) -> OperationHead<'_> {
        OperationHead { kind, name }
    }

    #[test]
    fn tokens_are_counted_without_white_space_and_comments() {
        assert_eq!(count_tokens("{ a(b: \"c d\", e: 1.5e3) } # x y z", 100), 11);
        assert_eq!(count_tokens("{ a ... on B { c } }", 100), 9);
        assert_eq!(count_tokens("\"\"\"block \\\"\"\" string\"\"\" x", 100), 2);
        assert_eq!(count_tokens("{ a b c d e f }", 3), 4);
    }

    #[test]
    fn operations_come_from_top_level_tokens() {
        use OperationType::{Mutation, Query, Subscription};
        assert_eq!(operations("{ a }"), vec![head(Query, None)]);
        assert_eq!(
            operations("query Q($x: In = {mutation: 1}) @mutation { mutation }"),
            vec![head(Query, Some("Q"))]
        );
        assert_eq!(
            operations(
                "fragment F on T { a } mutation M { m } # query Z\n subscription { s } query { q }"
            ),
            vec![
                head(Mutation, Some("M")),
                head(Subscription, None),
                head(Query, None)
            ]
        );
    }
}
