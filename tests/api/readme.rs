//! Every example query in the README answers as the README shows.

use serde_json::Value;

use crate::helpers::spawn_app;

/// The (query, answer) pairs: each ```graphql block and the ```json block
/// that follows it.
fn examples() -> Vec<(String, Value)> {
    let readme = include_str!("../../README.md");
    let mut examples = Vec::new();
    let mut rest = readme;
    while let Some(start) = rest.find("```graphql\n") {
        let after_query = &rest[start + "```graphql\n".len()..];
        let query_end = after_query.find("```").expect("the graphql block ends");
        let query = after_query[..query_end].trim().to_owned();
        let after = &after_query[query_end..];
        let json_start = after
            .find("```json\n")
            .expect("an answer follows each query")
            + "```json\n".len();
        let json_end = after[json_start..]
            .find("```")
            .expect("the json block ends");
        let answer = serde_json::from_str(&after[json_start..json_start + json_end])
            .expect("the answer is JSON");
        examples.push((query, answer));
        rest = &after[json_start + json_end..];
    }
    examples
}

#[actix_web::test]
async fn every_readme_example_answers_as_shown() {
    let app = spawn_app().await;
    let examples = examples();
    assert_eq!(examples.len(), 6);

    for (query, answer) in examples {
        let body = app.graphql(&query, Value::Null).await;

        assert_eq!(body, answer, "README example: {query}");
    }
}

#[test]
fn the_readme_table_of_codes_is_the_code_table() {
    let readme = include_str!("../../README.md");
    let start = readme
        .find("| code | status |")
        .expect("the README's table of codes");
    let listed: Vec<&str> = readme[start..]
        .lines()
        .skip(2)
        .take_while(|line| line.starts_with("| `"))
        .filter_map(|line| line.strip_prefix("| `")?.split_once('`'))
        .map(|(code, _)| code)
        .collect();

    assert_eq!(listed, tradegraph::graphql::codes::ALL);
}
