//! The OpenAPI 3.1 document of `/api/v1`. Its schemas are generated from
//! the types the handlers serialize ([`crate::answers`]); the API tests
//! call every operation listed here and check each answer against its
//! schema, so the document cannot drift from what is served. Only the
//! plan, which is the planner's own JSON, is described by hand.

use schemars::{
    JsonSchema,
    generate::{Contract, SchemaSettings},
};
use serde_json::{Map, Value, json};

use crate::answers::{
    EnvironmentAnswer, ErrorAnswer, ExecutionList, JobAnswer, JobList, ReplayAnswer, TaskDetail,
    TaskPage,
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
pub(crate) fn document() -> Value {
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
    let mut schemas = answer_schemas();
    schemas.insert("PlannedJob".into(), planned_job_schema());
    schemas.insert("Plan".into(), plan_schema());
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
            "/api/v1/jobs": {"get": read("Every job", vec![], schema("JobList"), &[])},
            "/api/v1/jobs/{name}": {"get": read("One job", vec![job_name()], schema("Job"), &unknown_job)},
            "/api/v1/jobs/{name}/pause": {"post": action("Pause a job on every node", vec![job_name()], "200", schema("Job"), &unknown_job)},
            "/api/v1/jobs/{name}/resume": {"post": action("Resume a paused job", vec![job_name()], "200", schema("Job"), &unknown_job)},
            "/api/v1/jobs/{name}/trigger": {"post": action("Run a job once, now (the first node to see it runs it)", vec![job_name()], "202", schema("Job"), &unknown_job)},
            "/api/v1/executions": {"get": read("Execution history, newest first", vec![
                    query_param("job", "Only this job's", "string"),
                    query_param("state", "due, waiting, running, succeeded, failed, skipped, missed or interrupted", "string"),
                    query_param("since", "Only minutes from this RFC 3339 instant on (default: a day ago)", "string"),
                    query_param("limit", "At most this many, 1 to 1000 (default 100)", "integer"),
                ],
                schema("ExecutionList"),
                &[("400", "A filter that is not understood")])},
            "/api/v1/tasks": {"get": read("Tasks, newest first, a page at a time", vec![
                    query_param("integration", "Only this integration's", "string"),
                    query_param("status", "new, processing, finished, failed, dead or skipped", "string"),
                    query_param("limit", "At most this many, 1 to 1000 (default 50)", "integer"),
                    query_param("cursor", "The next_cursor of the previous page", "string"),
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
            "/api/v1/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                "description": "environment.api_token or PACER_API_TOKEN"}},
            "schemas": schemas,
        }
    })
}

/// A job as the planner plans it (the plan is the planner's own JSON).
fn planned_job_schema() -> Value {
    json!({"type": "object",
                    "required": ["job", "integration", "kind", "executions_per_day", "runs_per_hour", "runs_per_day",
                                 "interval_minutes", "schedule", "description", "items_per_run", "min_items_per_minute",
                                 "duration_minutes", "headroom_percent", "explicit"],
                    "properties": {
                        "job": {"type": "string"}, "integration": {"type": "string"},
                        "kind": {"type": "string", "enum": ["pull", "push"]},
                        "executions_per_day": {"type": "integer"}, "runs_per_hour": {"type": "number"},
                        "runs_per_day": {"type": "integer"}, "interval_minutes": {"type": "integer"},
                        "schedule": {"type": "string"}, "description": {"type": "string"},
                        "items_per_run": {"type": "integer"}, "min_items_per_minute": {"type": "integer"},
                        "duration_minutes": {"type": "integer"}, "headroom_percent": {"type": "number"},
                        "explicit": {"type": "boolean"}}})
}

/// The plan as `/api/v1/plan` serves it: the planner's plan, the days the
/// clock moves laid out, and today's actual load.
fn plan_schema() -> Value {
    json!({"type": "object", "required": ["environment", "jobs", "load", "fits", "warnings", "days", "actual"],
                    "properties": {
                        "environment": {"type": "string"},
                        "jobs": {"type": "array", "items": schema("PlannedJob")},
                        "load": {"type": "object", "required": ["capacity", "peak", "lower_bound", "by_minute"], "properties": {
                            "capacity": {"type": "integer"}, "peak": {"type": "integer"},
                            "lower_bound": {"type": "integer", "description": "A peak no choice of offsets can go below"},
                            "by_minute": {"type": "array", "items": {"type": "integer"},
                                "description": "Executions planned in each minute of the day, 0 = 00:00"}}},
                        "fits": {"type": "boolean"},
                        "warnings": {"type": "array", "items": {"type": "object", "required": ["kind", "message"],
                            "description": "What does not hold; each kind carries its own figures beside kind and message",
                            "properties": {"kind": {"type": "string"}, "message": {"type": "string"}},
                            "additionalProperties": true}},
                        "days": {"type": "array", "description": "The zone's next days the clock moves, the plan laid on each",
                            "items": {"type": "object", "required": ["date", "minutes", "hours", "executions", "ordinary_executions", "peak", "by_minute"], "properties": {
                                "date": {"type": "string"}, "minutes": {"type": "integer", "description": "1380 on a spring-forward day, 1500 on a fall-back one"},
                                "hours": {"type": "array", "items": {"type": "string"}, "description": "Wall-clock labels; a repeated hour carries its offset, 02:00+01:00"},
                                "executions": {"type": "integer"}, "ordinary_executions": {"type": "integer"}, "peak": {"type": "integer"},
                                "by_minute": {"type": "array", "items": {"type": "integer"}}}}},
                        "actual": {"type": "object", "required": ["date", "now_minute", "hours", "planned_by_minute", "by_minute"], "properties": {
                            "date": {"type": "string"}, "now_minute": {"type": "integer", "description": "Minutes since today's start; -1 outside it"},
                            "hours": {"type": "array", "description": "The hours today really has: 23, 24 or 25", "items": {"type": "object",
                                "required": ["label", "first_minute", "minutes"], "properties": {
                                    "label": {"type": "string"}, "first_minute": {"type": "integer"}, "minutes": {"type": "integer"}}}},
                            "planned_by_minute": {"type": "array", "items": {"type": "integer"}, "description": "The plan laid on today"},
                            "by_minute": {"type": "array", "items": {"type": "integer"}}}}}})
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
        let document = document();
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
