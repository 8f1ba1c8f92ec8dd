//! The OpenAPI 3.1 document of `/api/v1`. The API tests call every
//! operation listed here and check each answer against its schema, so the
//! document cannot drift from what is served.

use serde_json::{Value, json};

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

fn nullable(kind: &str) -> Value {
    json!({"type": [kind, "null"]})
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
    let time = json!({"type": "string", "format": "date-time"});
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
            "/api/v1/jobs": {"get": read("Every job", vec![],
                json!({"type": "object", "required": ["jobs"], "properties": {"jobs": {"type": "array", "items": schema("Job")}}}), &[])},
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
                json!({"type": "object", "required": ["executions"], "properties": {"executions": {"type": "array", "items": schema("Execution")}}}),
                &[("400", "A filter that is not understood")])},
            "/api/v1/tasks": {"get": read("Tasks, newest first, a page at a time", vec![
                    query_param("integration", "Only this integration's", "string"),
                    query_param("status", "new, processing, finished, failed, dead or skipped", "string"),
                    query_param("limit", "At most this many, 1 to 1000 (default 50)", "integer"),
                    query_param("cursor", "The next_cursor of the previous page", "string"),
                ],
                json!({"type": "object", "required": ["tasks", "next_cursor"], "properties": {
                    "tasks": {"type": "array", "items": schema("Task")},
                    "next_cursor": nullable("string")}}),
                &[("400", "A filter that is not understood")])},
            "/api/v1/tasks/{id}": {"get": read("One task with its payload and failed attempts", vec![task_id()], schema("TaskDetail"), &unknown_task)},
            "/api/v1/tasks/{id}/retry": {"post": action("Queue a failed, dead or skipped task again, due now", vec![task_id()], "200", schema("TaskDetail"),
                &[("404", "No such task"), ("409", "The task cannot be retried in its status")])},
            "/api/v1/tasks/{id}/skip": {"post": action("Set a waiting, failed or dead task aside", vec![task_id()], "200", schema("TaskDetail"),
                &[("404", "No such task"), ("409", "The task is in flight or done")])},
            "/api/v1/integrations/{name}/replay-dead": {"post": action("Queue an integration's dead tasks again, but those whose record itself cannot be sent (rejected when read, a transform that fails, a path field it lacks)", vec![path_param("name", "The integration", "string")], "200",
                json!({"type": "object", "required": ["integration", "replayed", "left_dead", "left"], "properties": {
                    "integration": {"type": "string"}, "replayed": {"type": "integer"},
                    "left_dead": {"type": "integer", "description": "Tasks left dead: their record would fail the same way"},
                    "left": {"type": "array", "description": "The first 20 of them", "items": {"type": "object", "required": ["task", "reason"], "properties": {
                        "task": {"type": "integer"}, "reason": {"type": "string"}}}}}}),
                &[("404", "No such integration")])},
            "/api/v1/plan": {"get": read("What `pacer plan --format json` prints, plus today's actual load by minute", vec![], schema("Plan"), &[])},
            "/api/v1/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                "description": "environment.api_token or PACER_API_TOKEN"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"], "properties": {
                        "code": {"type": "string"}, "message": {"type": "string"}}}}},
                "Environment": {"type": "object",
                    "required": ["name", "timezone", "capacity", "capacity_in_use", "node", "nodes_alive", "store", "now"],
                    "properties": {
                        "name": {"type": "string"}, "timezone": {"type": "string"},
                        "capacity": {"type": "integer"}, "capacity_in_use": {"type": "integer"},
                        "node": {"type": "string"},
                        "nodes_alive": {"type": "array", "items": {"type": "string"}},
                        "store": {"type": "string", "enum": ["sqlite", "postgres"]},
                        "now": time}},
                "Job": {"type": "object",
                    "required": ["name", "integration", "kind", "system", "schedule", "description", "items_per_run",
                                 "next_runs", "last_execution", "state", "paused", "triggered_at"],
                    "properties": {
                        "name": {"type": "string"}, "integration": {"type": "string"},
                        "kind": {"type": "string", "enum": ["pull", "push"]},
                        "system": {"type": "string"}, "schedule": {"type": "string"},
                        "description": {"type": "string"}, "items_per_run": {"type": "integer"},
                        "next_runs": {"type": "array", "items": time},
                        "last_execution": {"oneOf": [schema("Execution"), {"type": "null"}]},
                        "state": {"type": "string", "enum": ["idle", "due", "waiting", "running"]},
                        "paused": {"type": "boolean"},
                        "triggered_at": nullable("string")}},
                "Execution": {"type": "object",
                    "required": ["job", "minute", "state", "due_at", "started_at", "finished_at", "waited_ms", "duration_ms", "items", "error"],
                    "properties": {
                        "job": {"type": "string"}, "minute": time, "state": {"type": "string"},
                        "due_at": time, "started_at": nullable("string"), "finished_at": nullable("string"),
                        "waited_ms": nullable("integer"), "duration_ms": nullable("integer"),
                        "items": {"type": "integer"}, "error": nullable("string")}},
                "Task": {"type": "object",
                    "required": ["id", "integration", "key", "status", "attempts", "last_error", "next_attempt_at", "created_at", "updated_at"],
                    "properties": {
                        "id": {"type": "integer"}, "integration": {"type": "string"}, "key": {"type": "string"},
                        "status": {"type": "string", "enum": ["new", "processing", "finished", "failed", "dead", "skipped"]},
                        "attempts": {"type": "integer"}, "last_error": nullable("string"),
                        "next_attempt_at": time, "created_at": time, "updated_at": time}},
                "TaskDetail": {"allOf": [schema("Task"), {"type": "object", "required": ["payload", "errors"], "properties": {
                    "payload": {"description": "The record: JSON when it is, else the text as it came"},
                    "errors": {"type": "array", "items": {"type": "object", "required": ["attempt", "at", "error"], "properties": {
                        "attempt": {"type": "integer"}, "at": time, "error": {"type": "string"}}}}}}]},
                "PlannedJob": {"type": "object",
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
                        "explicit": {"type": "boolean"}}},
                "Plan": plan_schema(),
            }
        }
    })
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
