//! The API tests: one binary, real HTTP against the real server on a free
//! port, each test with its own temporary database.

mod backup;
mod caching;
mod cluster;
mod crash;
mod dashboard;
mod errors;
mod fairness;
mod figures;
mod fuzz;
mod helpers;
mod http;
mod limits;
mod links;
mod lists;
mod mutations;
mod nodes;
mod observability;
mod playground;
mod process;
mod production;
mod readme;
mod scans;
mod schema;
mod seeding;
mod subscriptions;
mod upgrade;
