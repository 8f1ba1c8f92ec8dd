//! `/api/v1`: JSON reads and actions. Each answer's shape is in the OpenAPI
//! document ([`crate::openapi`]), which a test holds to what is served.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::Value;

use crate::{
    App,
    answers::{
        AlertList, EnvironmentAnswer, ExecutionList, JobAnswer, JobList, LeftDead, PlanAnswer,
        ReloadAnswer, ReplayAnswer, TaskDetail, TaskPage,
    },
    error::ApiError,
    openapi, views,
};

type Answer<T> = Result<Json<T>, ApiError>;

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi_document))
        .route("/api/v1/environment", get(environment))
        .route("/api/v1/jobs", get(jobs))
        .route("/api/v1/jobs/{name}", get(job))
        .route("/api/v1/jobs/{name}/pause", post(pause))
        .route("/api/v1/jobs/{name}/resume", post(resume))
        .route("/api/v1/jobs/{name}/trigger", post(trigger))
        .route("/api/v1/executions", get(executions))
        .route("/api/v1/tasks", get(tasks))
        .route("/api/v1/tasks/{id}", get(task))
        .route("/api/v1/tasks/{id}/retry", post(retry))
        .route("/api/v1/tasks/{id}/skip", post(skip))
        .route("/api/v1/integrations/{name}/replay-dead", post(replay_dead))
        .route("/api/v1/plan", get(plan))
        .route("/api/v1/alerts", get(alerts))
        .route("/api/v1/reload", post(reload))
        .route("/api/v1/{*rest}", get(unknown).post(unknown))
}

/// The document of this API as it runs: the jobs' names are the
/// cursors `/api/v1/jobs` takes.
async fn openapi_document(State(app): State<App>) -> Json<Value> {
    Json(openapi::document(&app.engine().jobs()))
}

async fn unknown(Path(rest): Path<String>) -> ApiError {
    ApiError::not_found(format!(
        "no endpoint /api/v1/{rest}; /api/v1/openapi.json lists them"
    ))
}

async fn reload(State(app): State<App>) -> Answer<ReloadAnswer> {
    match app.reload().await? {
        Ok(message) => Ok(Json(ReloadAnswer {
            reloaded: true,
            message,
        })),
        Err(why) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_config",
            format!("{why}; the running config stays"),
        )),
    }
}

async fn alerts(State(app): State<App>) -> Answer<AlertList> {
    Ok(Json(views::alerts(&app.engine()).await?))
}

async fn environment(State(app): State<App>) -> Answer<EnvironmentAnswer> {
    Ok(Json(views::environment(&app.engine()).await?))
}

async fn jobs(State(app): State<App>, views::Params(params): views::Params) -> Answer<JobList> {
    Ok(Json(views::job_page(&app.engine(), &params).await?))
}

async fn job(State(app): State<App>, Path(name): Path<String>) -> Answer<JobAnswer> {
    Ok(Json(views::one_job(&app.engine(), &name).await?))
}

async fn pause(State(app): State<App>, Path(name): Path<String>) -> Answer<JobAnswer> {
    set_paused(&app, &name, true).await
}

async fn resume(State(app): State<App>, Path(name): Path<String>) -> Answer<JobAnswer> {
    set_paused(&app, &name, false).await
}

async fn set_paused(app: &App, name: &str, paused: bool) -> Answer<JobAnswer> {
    known_job(app, name)?;
    app.engine().store().set_paused(name, paused).await?;
    tracing::info!(job = name, paused, "job switched from the API");
    Ok(Json(views::one_job(&app.engine(), name).await?))
}

async fn trigger(State(app): State<App>, Path(name): Path<String>) -> Result<Response, ApiError> {
    known_job(&app, &name)?;
    let now = app.engine().clock().now();
    app.engine().store().trigger(&name, now).await?;
    tracing::info!(job = name, "run asked for from the API");
    let job = views::one_job(&app.engine(), &name).await?;
    Ok((StatusCode::ACCEPTED, Json(job)).into_response())
}

fn known_job(app: &App, name: &str) -> Result<(), ApiError> {
    if app.engine().jobs().iter().any(|j| j == name) {
        Ok(())
    } else {
        Err(views::no_job(&app.engine(), name))
    }
}

async fn executions(
    State(app): State<App>,
    views::Params(params): views::Params,
) -> Answer<ExecutionList> {
    let query = views::execution_query(&app.engine(), &params)?;
    let executions = views::executions(&app.engine(), &query).await?;
    Ok(Json(ExecutionList { executions }))
}

async fn tasks(State(app): State<App>, views::Params(params): views::Params) -> Answer<TaskPage> {
    let query = views::task_query(&params)?;
    Ok(Json(views::tasks(&app.engine(), &query).await?))
}

async fn task(State(app): State<App>, Path(id): Path<String>) -> Answer<TaskDetail> {
    let id = views::task_id(&id)?;
    Ok(Json(views::task_detail(&app.engine(), id).await?))
}

async fn retry(State(app): State<App>, Path(id): Path<String>) -> Answer<TaskDetail> {
    let id = views::task_id(&id)?;
    let before = views::task_detail(&app.engine(), id).await?;
    let now = app.engine().clock().now();
    if !app.engine().store().replay(id, now).await? {
        return Err(ApiError::conflict(format!(
            "task {id} is {}: only a failed, dead or skipped task can be retried, and only \
             while no other pending task has its key",
            before.task.status
        )));
    }
    tracing::info!(task = id, "task retried from the API");
    Ok(Json(views::task_detail(&app.engine(), id).await?))
}

async fn skip(State(app): State<App>, Path(id): Path<String>) -> Answer<TaskDetail> {
    let id = views::task_id(&id)?;
    let before = views::task_detail(&app.engine(), id).await?;
    let now = app.engine().clock().now();
    if !app.engine().store().skip(id, now).await? {
        return Err(ApiError::conflict(format!(
            "task {id} is {}: only a new, failed or dead task can be skipped",
            before.task.status
        )));
    }
    tracing::info!(task = id, "task skipped from the API");
    Ok(Json(views::task_detail(&app.engine(), id).await?))
}

async fn replay_dead(State(app): State<App>, Path(name): Path<String>) -> Answer<ReplayAnswer> {
    let known = views::integrations(&app.engine());
    if !known.contains(&name) {
        return Err(ApiError::not_found(format!(
            "no integration named {name:?}; the integrations are: {}",
            known.join(", ")
        )));
    }
    let done = app.engine().replay_dead(&name).await?;
    tracing::info!(
        integration = name,
        replayed = done.replayed,
        left = done.left.len(),
        "dead tasks replayed from the API"
    );
    // The first reasons are enough to act on; the count says how many.
    let left: Vec<_> = done
        .left
        .iter()
        .take(20)
        .map(|(task, reason)| LeftDead {
            task: *task,
            reason: reason.clone(),
        })
        .collect();
    Ok(Json(ReplayAnswer {
        integration: name,
        replayed: done.replayed,
        left_dead: done.left.len(),
        left,
    }))
}

async fn plan(State(app): State<App>) -> Answer<PlanAnswer> {
    Ok(Json(views::plan(&app.engine()).await?))
}
