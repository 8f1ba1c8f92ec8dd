//! The OpenAPI 3.1 document of `/api/v1`. Its schemas are generated from
//! the types the handlers serialize ([`crate::answers`]); the API tests
//! call every operation listed here and check each answer against its
//! schema, so the document cannot drift from what is served.

use schemars::{
    JsonSchema,
    generate::{Contract, SchemaSettings},
};
use serde_json::{Map, Value, json};

use pacer_store::{ExecutionState, TaskStatus};

use crate::{
    answers::{
        AlertList, EnvironmentAnswer, ErrorAnswer, ExecutionList, HookAnswer, JobAnswer, JobList,
        PlanAnswer, ReloadAnswer, ReplayAnswer, TaskDetail, TaskPage,
    },
    views::{JOBS_PAGE, MAX_LIMIT},
};

/// The schema of each answer, named as the paths refer to them.
fn answer_schemas() -> Map<String, Value> {
    let mut generator = SchemaSettings::draft2020_12()
        .with(|settings| {
            settings.definitions_path = "/components/schemas".into();
            settings.contract = Contract::Serialize;
        })
        .into_generator();
    register::<ErrorAnswer>(&mut generator);
    register::<EnvironmentAnswer>(&mut generator);
    register::<JobAnswer>(&mut generator);
    register::<JobList>(&mut generator);
    register::<ExecutionList>(&mut generator);
    register::<TaskPage>(&mut generator);
    register::<TaskDetail>(&mut generator);
    register::<ReplayAnswer>(&mut generator);
    register::<PlanAnswer>(&mut generator);
    register::<AlertList>(&mut generator);
    register::<ReloadAnswer>(&mut generator);
    register::<HookAnswer>(&mut generator);
    generator.take_definitions(true)
}

/// Adds `T`'s schema, and those it refers to, to the generator's definitions.
fn register<T: JsonSchema>(generator: &mut schemars::SchemaGenerator) {
    generator.subschema_for::<T>();
}

fn schema(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn answer(description: &str, body: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": body}}})
}

fn error(description: &str) -> Value {
    answer(description, schema("Error"))
}

fn path_param(name: &str, description: &str, kind: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description,
           "schema": {"type": kind}})
}

/// A query parameter with its own schema: an enum, a range, a default.
fn query_param_with(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description,
           "schema": schema})
}

/// One of `words`, or empty: a form's "all" sends the parameter empty.
fn one_of_or_empty<'a>(words: impl Iterator<Item = &'a str>) -> Value {
    let mut words: Vec<&str> = words.collect();
    words.push("");
    json!({"type": "string", "enum": words})
}

/// `limit`: 1 to the most a page lists.
fn limit_param(default: u32) -> Value {
    query_param_with(
        "limit",
        &format!("At most this many, 1 to {MAX_LIMIT}; empty or absent: {default}"),
        // Empty, as a form sends it, means the default too.
        json!({"anyOf": [{"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                         {"type": "string", "maxLength": 0}],
               "default": default}),
    )
}

fn query_param(name: &str, description: &str, kind: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description,
           "schema": {"type": kind}})
}

fn read(summary: &str, params: Vec<Value>, ok: Value, errors: &[(&str, &str)]) -> Value {
    let mut responses = serde_json::Map::new();
    responses.insert("200".into(), answer("OK", ok));
    for (status, description) in errors {
        responses.insert((*status).into(), error(description));
    }
    responses.insert(
        "401".into(),
        error(
            "A token is needed (beyond loopback, or once a token is set) and was missing or wrong",
        ),
    );
    json!({"summary": summary, "parameters": params, "responses": responses})
}

fn action(
    summary: &str,
    params: Vec<Value>,
    status: &str,
    ok: Value,
    errors: &[(&str, &str)],
) -> Value {
    let mut responses = serde_json::Map::new();
    responses.insert(status.into(), answer("Done", ok));
    responses.insert("401".into(), error("Missing or wrong bearer token"));
    for (status, description) in errors {
        responses.insert((*status).into(), error(description));
    }
    json!({"summary": summary, "parameters": params, "responses": responses,
           "security": [{"bearer": []}]})
}

/// The document, as served at `/api/v1/openapi.json`.
pub(crate) fn document(jobs: &[String]) -> Value {
    let job_name = || {
        path_param(
            "name",
            "The job: INTEGRATION.pull or INTEGRATION.push",
            "string",
        )
    };
    let task_id = || path_param("id", "The task's id", "integer");
    let unknown_job = [("404", "No such job")];
    let unknown_task = [("404", "No such task")];
    let schemas = answer_schemas();
    let check = json!({"type": "string", "description": "ok, or why the check failed"});
    let readiness = json!({"type": "object", "required": ["ready", "checks"], "properties": {
        "ready": {"type": "boolean"},
        "checks": {"type": "object", "required": ["store", "scheduler", "heartbeat"],
                   "properties": {"store": check, "scheduler": check, "heartbeat": check}},
    }});
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Pacer API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Jobs, executions, tasks and the plan of one Pacer environment, and \
                            the actions on them. Times are RFC 3339 in the environment's time zone."
        },
        "paths": {
            "/api/v1/environment": {"get": read("The environment: name, time zone, capacity, nodes alive, store", vec![], schema("Environment"), &[])},
            "/api/v1/jobs": {"get": read("Jobs in the file's order, a page at a time", vec![
                    limit_param(JOBS_PAGE),
                    query_param_with("cursor", "The next_cursor of the previous page: a job's name; empty: the first page",
                        one_of_or_empty(jobs.iter().map(String::as_str))),
                ],
                schema("JobList"),
                &[("400", "A limit out of range, or a cursor that names no job")])},
            "/api/v1/jobs/{name}": {"get": read("One job", vec![job_name()], schema("Job"), &unknown_job)},
            "/api/v1/jobs/{name}/pause": {"post": action("Pause a job on every node", vec![job_name()], "200", schema("Job"), &unknown_job)},
            "/api/v1/jobs/{name}/resume": {"post": action("Resume a paused job", vec![job_name()], "200", schema("Job"), &unknown_job)},
            "/api/v1/jobs/{name}/trigger": {"post": action("Run a job once, now (the first node to see it runs it)", vec![job_name()], "202", schema("Job"), &unknown_job)},
            "/api/v1/executions": {"get": read("Execution history, newest first", vec![
                    query_param("job", "Only this job's", "string"),
                    query_param_with("state", "Only those in this state; empty: all", one_of_or_empty(
                        ExecutionState::ALL.iter().map(|s| s.as_str()))),
                    query_param_with("since", "Only minutes from this RFC 3339 instant on; empty or absent: a day ago",
                        json!({"type": "string", "anyOf": [{"format": "date-time"}, {"maxLength": 0}]})),
                    limit_param(100),
                ],
                schema("ExecutionList"),
                &[("400", "A filter that is not understood")])},
            "/api/v1/tasks": {"get": read("Tasks, newest first, a page at a time", vec![
                    query_param("integration", "Only this integration's", "string"),
                    query_param_with("status", "Only those with this status; empty: all", one_of_or_empty(
                        TaskStatus::ALL.iter().map(|s| s.as_str()))),
                    limit_param(50),
                    query_param_with("cursor", "The next_cursor of the previous page",
                        json!({"type": "string", "pattern": "^(-?[0-9]{1,18})?$"})),
                ],
                schema("TaskPage"),
                &[("400", "A filter that is not understood")])},
            "/api/v1/tasks/{id}": {"get": read("One task with its payload and failed attempts", vec![task_id()], schema("TaskDetail"), &unknown_task)},
            "/api/v1/tasks/{id}/retry": {"post": action("Queue a failed, dead or skipped task again, due now", vec![task_id()], "200", schema("TaskDetail"),
                &[("404", "No such task"), ("409", "The task cannot be retried in its status")])},
            "/api/v1/tasks/{id}/skip": {"post": action("Set a waiting, failed or dead task aside", vec![task_id()], "200", schema("TaskDetail"),
                &[("404", "No such task"), ("409", "The task is in flight or done")])},
            "/api/v1/integrations/{name}/replay-dead": {"post": action("Queue an integration's dead tasks again, but those whose record itself cannot be sent (rejected when read, a transform that fails, a path field it lacks)", vec![path_param("name", "The integration", "string")], "200",
                schema("ReplayAnswer"),
                &[("404", "No such integration")])},
            "/api/v1/plan": {"get": read("What `pacer plan --format json` prints, plus today's actual load by minute", vec![], schema("Plan"), &[])},
            "/api/v1/alerts": {"get": read("Alerts whose conditions hold (pending, then firing once they held long enough), the conditions switched on and the channels alerts go to", vec![], schema("AlertList"), &[])},
            "/api/v1/reload": {"post": action("Read the config file again, check it, plan it and run it: queued tasks stay, running executions end their page or batch first; an invalid file leaves the running config in place", vec![], "200", schema("ReloadAnswer"),
                &[("422", "The file is invalid or changes what needs a restart; the running config stays"), ("409", "This server has no file to reload (pacer demo)")])},
            "/hooks/{name}": {"post": {
                "summary": "Deliver records to an integration's webhook: a JSON array (each element a record) or one object",
                "parameters": [
                    path_param("name", "The integration", "string"),
                    {"name": "X-Pacer-Secret", "in": "header", "required": false,
                     "description": "The integration's webhook.secret, when it has one", "schema": {"type": "string"}},
                ],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {}}}},
                "responses": {
                    "202": answer("Queued; records without a key kept as rejected", schema("Received")),
                    "400": error("Not JSON, or nested too deep: kept as a rejected record"),
                    "401": error("Missing or wrong X-Pacer-Secret"),
                    "403": error("The webhook has no secret and Pacer listens beyond loopback"),
                    "404": error("No integration by that name receives webhooks"),
                    "413": error("Larger than the webhook's max_bytes"),
                    "503": error("The store failed; nothing was queued"),
                },
                "security": [],
            }},
            "/healthz": {"get": {
                "summary": "The process answers: for a liveness probe",
                "responses": {"200": answer("Alive", json!({"type": "object",
                    "properties": {"status": {"const": "ok"}}, "required": ["status"]}))},
                "security": [],
            }},
            "/readyz": {"get": {
                "summary": "This node can take work: its store answers, its scheduler and heartbeat ran recently",
                "responses": {
                    "200": answer("Ready", readiness.clone()),
                    "503": answer("Not ready: each failed check's reason", readiness),
                },
                "security": [],
            }},
            "/metrics": {"get": {
                "summary": "Prometheus metrics, text format 0.0.4",
                "responses": {
                    "200": {"description": "The metrics", "content": {"text/plain": {"schema": {"type": "string"}}}},
                    "401": error("A token is needed (beyond loopback, or once a token is set) and was missing or wrong"),
                },
            }},
            "/api/v1/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                "description": "environment.api_token or PACER_API_TOKEN"}},
            "schemas": schemas,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$ref` in the document names a schema it has.
    fn refs(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    found.push(r.clone());
                }
                map.values().for_each(|v| refs(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }

    #[test]
    fn the_answers_schemas_are_generated_where_the_paths_point() {
        let document = document(&["prices.pull".to_string()]);
        let schemas = document["components"]["schemas"].as_object().unwrap();
        let mut found = Vec::new();
        refs(&document, &mut found);
        assert!(found.len() > 10, "{found:?}");
        for reference in &found {
            let name = reference
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("{reference} points elsewhere"));
            assert!(schemas.contains_key(name), "{reference} names no schema");
        }
        // A job's schema says what a served job holds, from its type.
        let job = &schemas["Job"];
        let required: Vec<&str> = job["required"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for field in [
            "name",
            "kind",
            "next_runs",
            "last_execution",
            "state",
            "paused",
        ] {
            assert!(required.contains(&field), "{field} in {required:?}");
        }
        assert_eq!(job["properties"]["kind"]["enum"], json!(["pull", "push"]));
        assert_eq!(
            job["properties"]["next_runs"]["items"]["format"],
            "date-time"
        );
        assert_eq!(
            schemas["Execution"]["properties"]["started_at"]["type"],
            json!(["string", "null"])
        );
    }
}
