"""Every route × every role, through a real server on loopback, against the policy table (README "Roles").

Changing calls name ids that do not exist, or send an empty body: a role the policy allows gets past
the check (404 or 400, never 401/403) and changes nothing; any other role gets 403 before the body or
the id is looked at. A route missing from ``API`` fails ``test_every_route_is_in_the_table``.
"""

from __future__ import annotations

import httpx

from headrace.core.recurrence import ScheduleRecurrence
from headrace.server.ui.routes import ROUTERS as UI_ROUTERS
from headrace.server.ui.session import csrf_for
from headrace.services import datastores, endpoints, schedules
from headrace.services.policy import MINIMUM_ROLE, Action, allows
from headrace.storage.records import Role

A = Action
# (method, path) -> the action it performs; None: no token needed.
API: dict[tuple[str, str], Action | None] = {
    ("GET", "/health"): None,
    ("GET", "/pipelines"): A.READ,
    ("POST", "/pipelines"): A.PUBLISH,
    ("GET", "/pipelines/{pipeline_id}"): A.READ,
    ("POST", "/pipelines/{pipeline_id}/enable"): A.CHANGE_PUBLISHED,
    ("POST", "/pipelines/{pipeline_id}/disable"): A.CHANGE_PUBLISHED,
    ("POST", "/pipelines/{pipeline_id}/submit"): A.SUBMIT_RUN,
    ("GET", "/pipeline-endpoints"): A.READ,
    ("POST", "/pipeline-endpoints"): A.MANAGE_ENDPOINTS,
    ("GET", "/pipeline-endpoints/by-name/{name}"): A.READ,
    ("GET", "/pipeline-endpoints/{endpoint_id}"): A.READ,
    ("POST", "/pipeline-endpoints/{endpoint_id}/versions"): A.MANAGE_ENDPOINTS,
    ("PUT", "/pipeline-endpoints/{endpoint_id}/default-version"): A.MANAGE_ENDPOINTS,
    ("POST", "/pipeline-endpoints/{endpoint_id}/enable"): A.MANAGE_ENDPOINTS,
    ("POST", "/pipeline-endpoints/{endpoint_id}/disable"): A.MANAGE_ENDPOINTS,
    ("POST", "/pipeline-endpoints/{endpoint_id}/archive"): A.MANAGE_ENDPOINTS,
    ("POST", "/pipeline-endpoints/{endpoint_id}/submit"): A.SUBMIT_RUN,
    ("POST", "/pipeline-endpoints/by-name/{name}/submit"): A.SUBMIT_RUN,
    ("GET", "/runs"): A.READ,
    ("POST", "/runs"): A.SUBMIT_RUN,
    ("GET", "/runs/{run_id}"): A.READ,
    ("GET", "/runs/{run_id}/steps"): A.READ,
    ("GET", "/step-runs/{step_run_id}"): A.READ,
    ("GET", "/runs/{run_id}/steps/{step}/logs"): A.READ,
    ("GET", "/runs/{run_id}/metrics"): A.READ,
    ("GET", "/runs/{run_id}/steps/{step}/metrics"): A.READ,
    ("POST", "/runs/{run_id}/cancel"): A.CANCEL_RUN,
    ("POST", "/runs/{run_id}/publish"): A.PUBLISH,
    # the Run API (issue 17)
    ("PUT", "/experiments/{name}"): A.SUBMIT_RUN,
    ("POST", "/experiments/{name}/runs"): A.SUBMIT_RUN,
    ("POST", "/runs/{run_id}/end"): A.SUBMIT_RUN,
    ("POST", "/runs/{run_id}/metrics"): A.SUBMIT_RUN,
    ("POST", "/runs/{run_id}/steps/{step}/metrics"): A.SUBMIT_RUN,
    ("PATCH", "/runs/{run_id}/tags"): A.SUBMIT_RUN,
    ("PATCH", "/runs/{run_id}/steps/{step}/tags"): A.SUBMIT_RUN,
    ("POST", "/runs/{run_id}/properties"): A.SUBMIT_RUN,
    ("POST", "/runs/{run_id}/steps/{step}/properties"): A.SUBMIT_RUN,
    ("GET", "/runs/{run_id}/graph"): A.READ,
    ("GET", "/runs/{run_id}/files"): A.READ,
    ("GET", "/runs/{run_id}/steps/{step}/files"): A.READ,
    ("GET", "/runs/{run_id}/files/{name}"): A.READ,
    ("GET", "/runs/{run_id}/steps/{step}/files/{name}"): A.READ,
    ("PUT", "/runs/{run_id}/files/{name}"): A.SUBMIT_RUN,
    ("PUT", "/runs/{run_id}/steps/{step}/files/{name}"): A.SUBMIT_RUN,
    ("GET", "/experiments"): A.READ,
    ("GET", "/experiments/{name}"): A.READ,
    ("GET", "/datastores"): A.READ,
    ("POST", "/datastores"): A.MANAGE_DATASTORES,
    ("GET", "/datastores/{name}"): A.READ,
    ("GET", "/datastores/{name}/files"): A.READ,
    ("GET", "/datastores/{name}/files/{path}"): A.READ,
    ("PUT", "/datastores/{name}/files/{path}"): A.UPLOAD_FILE,
    ("GET", "/schedules"): A.READ,
    ("POST", "/schedules"): A.MANAGE_SCHEDULES,
    ("GET", "/schedules/pipeline/{pipeline_id}"): A.READ,
    ("GET", "/schedules/pipeline-endpoint/{endpoint_id}"): A.READ,
    ("GET", "/schedules/{schedule_id}"): A.READ,
    ("PUT", "/schedules/{schedule_id}"): A.MANAGE_SCHEDULES,
    ("PATCH", "/schedules/{schedule_id}"): A.MANAGE_SCHEDULES,
    ("DELETE", "/schedules/{schedule_id}"): A.MANAGE_SCHEDULES,
    ("POST", "/schedules/{schedule_id}/enable"): A.MANAGE_SCHEDULES,
    ("POST", "/schedules/{schedule_id}/disable"): A.MANAGE_SCHEDULES,
    ("GET", "/schedules/{schedule_id}/runs"): A.READ,
    ("GET", "/schedules/{schedule_id}/ticks"): A.READ,
    ("HEAD", "/snapshots/{digest}"): A.READ,
    ("GET", "/snapshots/{digest}"): A.READ,
    ("PUT", "/snapshots/{digest}"): A.SUBMIT_RUN,
    ("POST", "/graphs"): A.SUBMIT_RUN,
    ("POST", "/flows"): A.PUBLISH,
    ("GET", "/flows"): A.READ,
    ("GET", "/flows/{flow_name}"): A.READ,
    ("PUT", "/flows/{flow_name}/default-version"): A.CHANGE_PUBLISHED,
    ("POST", "/flows/{flow_name}/enable"): A.CHANGE_PUBLISHED,
    ("POST", "/flows/{flow_name}/disable"): A.CHANGE_PUBLISHED,
    ("POST", "/flows/{flow_name}/score"): A.SCORE_FLOW,
    ("GET", "/connections"): A.READ,
    ("GET", "/connections/{connection_name}"): A.READ,
    ("PUT", "/connections/{connection_name}"): A.MANAGE_CONNECTIONS,
    ("DELETE", "/connections/{connection_name}"): A.MANAGE_CONNECTIONS,
    ("PUT", "/pipeline-endpoints/{endpoint_id}/name"): A.MANAGE_ENDPOINTS,
    ("POST", "/pipeline-endpoints/{endpoint_id}/reactivate"): A.CHANGE_PUBLISHED,
    ("POST", "/PipelineRuns/PipelineSubmit/{pipeline_id}"): A.SUBMIT_RUN,
    ("POST", "/PipelineRuns/PipelineEndpointSubmit/Id/{endpoint_id}"): A.SUBMIT_RUN,
    ("POST", "/PipelineRuns/PipelineEndpointSubmit/Id/{endpoint_id}/{pipeline_version}"): A.SUBMIT_RUN,
    ("POST", "/PipelineRuns/PipelineEndpointSubmit/Name"): A.SUBMIT_RUN,
    ("GET", "/pipeline-drafts"): A.READ,
    ("POST", "/pipeline-drafts"): A.EDIT_DRAFT,
    ("GET", "/pipeline-drafts/{draft_id}"): A.READ,
    ("PATCH", "/pipeline-drafts/{draft_id}"): A.EDIT_DRAFT,
    ("DELETE", "/pipeline-drafts/{draft_id}"): A.EDIT_DRAFT,
    ("POST", "/pipeline-drafts/{draft_id}/submit"): A.EDIT_DRAFT,
    ("POST", "/pipeline-drafts/{draft_id}/publish"): A.PUBLISH,
    ("GET", "/modules"): A.READ,
    ("POST", "/modules"): A.PUBLISH,
    ("GET", "/modules/by-name/{name}"): A.READ,
    ("GET", "/modules/{module_id}"): A.READ,
    ("PATCH", "/modules/{module_id}"): A.CHANGE_PUBLISHED,
    ("GET", "/modules/{module_id}/versions"): A.READ,
    ("POST", "/modules/{module_id}/versions"): A.PUBLISH,
    ("GET", "/modules/{module_id}/versions/{version}"): A.READ,
    ("PATCH", "/modules/{module_id}/versions/{version}"): A.CHANGE_PUBLISHED,
    ("POST", "/datastores/cloud"): A.MANAGE_DATASTORES,
    ("DELETE", "/datastores/{name}"): A.MANAGE_DATASTORES,
    ("PUT", "/datastores/{name}/default"): A.MANAGE_DATASTORES,
    ("GET", "/computes"): A.READ,
    ("GET", "/computes/{name}"): A.READ,
    ("PUT", "/computes/{name}"): A.CREATE_COMPUTE,
    ("DELETE", "/computes/{name}"): A.MANAGE_COMPUTE,
    ("GET", "/environments"): A.READ,
    ("GET", "/environments/{name}"): A.READ,
    ("POST", "/environments/{name}"): A.REGISTER_ENVIRONMENT,
    ("POST", "/environments/{name}/build"): A.REGISTER_ENVIRONMENT,
    ("GET", "/datasets"): A.READ,
    ("POST", "/datasets"): A.REGISTER_DATASET,
    ("POST", "/datasets/resolve"): A.READ,
    ("POST", "/datasets/save"): A.REGISTER_DATASET,
    ("GET", "/datasets/{name}"): A.READ,
    ("DELETE", "/datasets/{name}"): A.UNREGISTER_DATASET,
    ("GET", "/dataset-versions/{dataset_id}"): A.READ,
    ("PATCH", "/dataset-versions/{dataset_id}"): A.REGISTER_DATASET,
    ("GET", "/dataset-versions/{dataset_id}/files"): A.READ,
    ("GET", "/dataset-versions/{dataset_id}/uses"): A.READ,
    ("GET", "/models"): A.READ,
    ("POST", "/models"): A.REGISTER_MODEL,
    ("POST", "/models/from-run"): A.REGISTER_MODEL,
    ("POST", "/models/blobs/missing"): A.REGISTER_MODEL,
    ("PUT", "/models/blobs/{sha256}"): A.REGISTER_MODEL,
    ("GET", "/models/{name}"): A.READ,
    ("GET", "/models/{name}/versions/{version}"): A.READ,
    ("PATCH", "/models/{name}/versions/{version}"): A.REGISTER_MODEL,
    ("DELETE", "/models/{name}/versions/{version}"): A.DELETE_MODEL,
    ("GET", "/models/{name}/versions/{version}/files/{path}"): A.READ,
    ("POST", "/models/{name}/versions/{version}/stage"): A.PROMOTE_MODEL,
    ("GET", "/models/{name}/history"): A.READ,
    ("GET", "/models/{name}/aliases"): A.READ,
    ("PUT", "/models/{name}/aliases/{alias}"): A.PROMOTE_MODEL,
    ("DELETE", "/models/{name}/aliases/{alias}"): A.PROMOTE_MODEL,
    ("GET", "/event-types"): A.READ,
    ("GET", "/webhooks"): A.MANAGE_WEBHOOKS,
    ("POST", "/webhooks"): A.MANAGE_WEBHOOKS,
    ("GET", "/webhooks/{key}"): A.MANAGE_WEBHOOKS,
    ("DELETE", "/webhooks/{key}"): A.MANAGE_WEBHOOKS,
    ("POST", "/webhooks/{key}/enable"): A.MANAGE_WEBHOOKS,
    ("POST", "/webhooks/{key}/disable"): A.MANAGE_WEBHOOKS,
    ("GET", "/webhooks/{key}/deliveries"): A.MANAGE_WEBHOOKS,
    ("POST", "/webhooks/{key}/deliveries/{delivery_id}/redeliver"): A.MANAGE_WEBHOOKS,
    ("POST", "/webhooks/{key}/test"): A.MANAGE_WEBHOOKS,
    ("GET", "/triggers"): A.READ,
    ("POST", "/triggers"): A.MANAGE_TRIGGERS,
    ("GET", "/triggers/{key}"): A.READ,
    ("DELETE", "/triggers/{key}"): A.MANAGE_TRIGGERS,
    ("POST", "/triggers/{key}/enable"): A.MANAGE_TRIGGERS,
    ("POST", "/triggers/{key}/disable"): A.MANAGE_TRIGGERS,
    ("GET", "/triggers/{key}/ticks"): A.READ,
    ("GET", "/triggers/{key}/runs"): A.READ,
    ("POST", "/triggers/{key}/events"): A.POST_EVENT,
    # MLflow's tracking API (its own paths, outside /api/v1)
    ("GET", "/api/2.0/mlflow/experiments/get-by-name"): A.READ,
    ("GET", "/api/2.0/mlflow/experiments/get"): A.READ,
    ("POST", "/api/2.0/mlflow/experiments/create"): A.SUBMIT_RUN,
    ("POST", "/api/2.0/mlflow/experiments/search"): A.READ,
    ("POST", "/api/2.0/mlflow/runs/create"): A.SUBMIT_RUN,
    ("GET", "/api/2.0/mlflow/runs/get"): A.READ,
    ("POST", "/api/2.0/mlflow/runs/update"): A.SUBMIT_RUN,
    ("POST", "/api/2.0/mlflow/runs/search"): A.READ,
    ("POST", "/api/2.0/mlflow/runs/log-metric"): A.SUBMIT_RUN,
    ("POST", "/api/2.0/mlflow/runs/log-inputs"): A.SUBMIT_RUN,
    ("POST", "/api/2.0/mlflow/runs/log-parameter"): A.SUBMIT_RUN,
    ("POST", "/api/2.0/mlflow/runs/set-tag"): A.SUBMIT_RUN,
    ("POST", "/api/2.0/mlflow/runs/delete-tag"): A.SUBMIT_RUN,
    ("POST", "/api/2.0/mlflow/runs/log-batch"): A.SUBMIT_RUN,
    ("GET", "/api/2.0/mlflow/metrics/get-history"): A.READ,
    ("GET", "/api/2.0/mlflow/artifacts/list"): A.READ,
    ("POST", "/api/2.0/mlflow/logged-models/search"): A.READ,
    ("POST", "/api/2.0/mlflow/logged-models"): A.SUBMIT_RUN,
    ("GET", "/api/2.0/mlflow/logged-models/{model_id}"): A.READ,
    ("PATCH", "/api/2.0/mlflow/logged-models/{model_id}"): A.SUBMIT_RUN,
    ("DELETE", "/api/2.0/mlflow/logged-models/{model_id}"): A.SUBMIT_RUN,
    ("PATCH", "/api/2.0/mlflow/logged-models/{model_id}/tags"): A.SUBMIT_RUN,
    ("DELETE", "/api/2.0/mlflow/logged-models/{model_id}/tags/{tag_key}"): A.SUBMIT_RUN,
    ("POST", "/api/2.0/mlflow/logged-models/{model_id}/params"): A.SUBMIT_RUN,
    ("POST", "/api/2.0/mlflow/runs/outputs"): A.SUBMIT_RUN,
    ("POST", "/api/2.0/mlflow/runs/log-model"): A.SUBMIT_RUN,
    ("POST", "/api/2.0/mlflow/registered-models/create"): A.REGISTER_MODEL,
    ("GET", "/api/2.0/mlflow/registered-models/get"): A.READ,
    ("POST", "/api/2.0/mlflow/model-versions/create"): A.REGISTER_MODEL,
    ("GET", "/api/2.0/mlflow/model-versions/get"): A.READ,
    ("GET", "/api/2.0/mlflow/model-versions/get-download-uri"): A.READ,
    ("GET", "/api/2.0/mlflow-artifacts/artifacts"): A.READ,
    ("GET", "/api/2.0/mlflow-artifacts/artifacts/{path}"): A.READ,
    ("PUT", "/api/2.0/mlflow-artifacts/artifacts/{path}"): A.SUBMIT_RUN,
}

# The table the README documents, role by role: what a submitter may not do is an admin's.
EXPECTED_MINIMUM = {
    Role.READER: {A.READ},
    Role.SUBMITTER: {A.SUBMIT_RUN, A.CANCEL_RUN, A.SCORE_FLOW, A.UPLOAD_FILE, A.REGISTER_DATASET, A.EDIT_DRAFT,
                     A.CREATE_COMPUTE, A.REGISTER_ENVIRONMENT, A.REGISTER_MODEL, A.POST_EVENT},
    Role.ADMIN: {A.REPLACE_FILE, A.PUBLISH, A.MANAGE_ENDPOINTS, A.CHANGE_PUBLISHED, A.MANAGE_SCHEDULES,
                 A.MANAGE_DATASTORES, A.MANAGE_CONNECTIONS, A.UNREGISTER_DATASET, A.MANAGE_COMPUTE,
                 A.PROMOTE_MODEL, A.DELETE_MODEL, A.MANAGE_WEBHOOKS, A.MANAGE_TRIGGERS},
}

ROLES = ("reader", "submitter", "admin")
MISSING = "no-such-thing"


def _concrete(path: str) -> str:
    """The path with every parameter naming nothing (the default datastore gets an unknown file)."""
    path = path.replace("/datastores/{name}/files/{path}", "/datastores/workspaceblobstore/files/matrix/new.txt")
    path = path.replace("/mlflow-artifacts/artifacts/{path}", f"/mlflow-artifacts/artifacts/{MISSING}/new.txt")
    for name in ("pipeline_id", "endpoint_id", "name", "run_id", "step", "step_run_id", "schedule_id",
                 "flow_name", "connection_name", "dataset_id", "draft_id", "pipeline_version", "alias", "path",
                 "key", "delivery_id", "model_id", "tag_key", "module_id"):
        path = path.replace("{" + name + "}", MISSING)
    return path.replace("{digest}", "0" * 64).replace("{sha256}", "0" * 64).replace("{version}", "7")


def test_the_policy_table_is_the_documented_one() -> None:
    assert {role: {a for a, r in MINIMUM_ROLE.items() if r is role} for role in Role} == EXPECTED_MINIMUM
    assert set(MINIMUM_ROLE) == set(Action)


def test_every_route_is_in_the_table(live) -> None:
    schema = httpx.get(f"{live.url}/openapi.json", timeout=60).json()
    served = {(method.upper(), path.removeprefix("/api/v1")) for path, ops in schema["paths"].items() for method in ops}
    assert served == set(API)


def test_every_route_for_every_role(live) -> None:
    clients = {role: live.client(role) for role in (None, *ROLES)}
    wrong = [problem for method, path in sorted(API) for problem in _check_route(live, clients, method, path)]
    assert not wrong, "\n".join(wrong)


def _check_route(live, clients: dict, method: str, path: str) -> list[str]:
    """What is wrong with ``method path`` for each role (nothing: an empty list)."""
    action, url, wrong = API[(method, path)], _concrete(path), []
    if url.startswith("/api/2.0/"):  # MLflow's paths are not under the clients' /api/v1
        url = live.url + url
    before = _state(live)
    raw = "/files/" in path or "/snapshots/" in path or "/blobs/{" in path or "/mlflow-artifacts/" in path
    for role in (None, *ROLES):
        r = clients[role].request(method, url, content=(b"" if raw else b"{}") if method in ("POST", "PUT", "PATCH")
                                      else None, headers={"Content-Type": "application/json"})
        if action is None:
            expected = "200"
            ok = r.status_code == 200
        elif role is None:
            expected = "401"
            ok = r.status_code == 401
        elif allows(Role(role), action):
            expected = "not 401/403"
            ok = r.status_code not in (401, 403)
        else:
            expected = f"403 naming the {MINIMUM_ROLE[action].value} role"
            body = r.json() if r.status_code == 403 else {}
            message = body.get("message") or body.get("Error", {}).get("Message", "")  # MLflow's shape or ours
            ok = r.status_code == 403 and MINIMUM_ROLE[action].value in message
        if not ok:
            wrong.append(f"{method} {path} as {role or 'no token'}: {r.status_code}, expected {expected}: {r.text[:150]}")
    if action not in (None, A.UPLOAD_FILE) and _state(live) != before:
        wrong.append(f"{method} {path} changed something")
    return wrong


def _state(live) -> tuple:
    store = live.svc.store
    return (len(store.list_runs(limit=1000)[0]), len(store.list_published_pipelines()),
            len(store.list_schedules()), len(store.list_model_versions()))


def test_replacing_a_file_needs_the_admin_role(live) -> None:
    ds = datastores.get_datastore(live.svc, "workspaceblobstore")
    submitter, admin = live.client("submitter"), live.client("admin")
    url = "/datastores/workspaceblobstore/files/shared/input.csv"
    assert submitter.put(url, content=b"first").status_code == 200  # a new file: a submitter adds data
    assert submitter.put(url + "?overwrite=true", content=b"new.csv").status_code == 403
    assert submitter.put(url, content=b"again").status_code == 409
    assert ds.read_bytes("shared/input.csv") == b"first"
    # overwrite=true on a file that is not there yet is only an upload.
    assert submitter.put(url + "2?overwrite=true", content=b"x").status_code == 200
    refused = submitter.put("/datastores/workspaceblobstore/files/raw/data.csv?overwrite=true", content=b"evil")
    assert refused.status_code == 403 and "admin role" in refused.json()["Error"]["Message"]
    assert ds.read_bytes("raw/data.csv") == b"a,b\n1,2\n"
    assert admin.put(url + "?overwrite=true", content=b"second").status_code == 200
    assert ds.read_bytes("shared/input.csv") == b"second"


# -- the web UI's forms -----------------------------------------------------------------------------

UI: dict[str, Action] = {
    "/pipelines/{published_id}/submit": A.SUBMIT_RUN,
    "/endpoints/{endpoint_id}/submit": A.SUBMIT_RUN,
    "/pipelines/{published_id}/{action}": A.CHANGE_PUBLISHED,
    "/endpoints/{endpoint_id}/{action}": A.MANAGE_ENDPOINTS,
    "/runs/{run_id}/cancel": A.CANCEL_RUN,
    "/runs/{run_id}/resubmit": A.SUBMIT_RUN,
    "/schedules/{schedule_id}/enable": A.MANAGE_SCHEDULES,
    "/schedules/{schedule_id}/disable": A.MANAGE_SCHEDULES,
    "/webhooks/{key}/enable": A.MANAGE_WEBHOOKS,
    "/webhooks/{key}/disable": A.MANAGE_WEBHOOKS,
    "/webhooks/{key}/test": A.MANAGE_WEBHOOKS,
    "/webhooks/{key}/deliveries/{delivery_id}/redeliver": A.MANAGE_WEBHOOKS,
    "/triggers/{key}/enable": A.MANAGE_TRIGGERS,
    "/triggers/{key}/disable": A.MANAGE_TRIGGERS,
}
SIGN_IN = {"/signin", "/signout"}


def _ui_session(live, role: str) -> httpx.Client:
    c = httpx.Client(base_url=live.url, follow_redirects=False)
    live.clients.append(c)
    c.get("/signin")
    r = c.post("/signin", data={"token": live.tokens[role], "csrf": c.cookies["headrace_signin_csrf"], "next": "/"})
    assert r.status_code == 303
    return c


def test_every_ui_form_is_in_the_table() -> None:
    posts = {r.path for router in UI_ROUTERS for r in router.routes if "POST" in getattr(r, "methods", ())}
    assert posts == set(UI) | SIGN_IN


def test_every_ui_form_for_every_role(live) -> None:
    sessions = {role: _ui_session(live, role) for role in ROLES}
    wrong = []
    for path, action in sorted(UI.items()):
        url = path.replace("{action}", "disable")
        for name in ("published_id", "endpoint_id", "run_id", "schedule_id", "key", "delivery_id"):
            url = url.replace("{" + name + "}", MISSING)
        for role in ROLES:
            r = sessions[role].post(url, data={"csrf": csrf_for(live.tokens[role])})
            if allows(Role(role), action):
                ok = r.status_code == 404
            else:
                ok = r.status_code == 403 and MINIMUM_ROLE[action].value in r.text
            if not ok:
                wrong.append(f"POST {url} as {role}: {r.status_code} {r.text[:150]}")
    assert not wrong, "\n".join(wrong)


def test_pages_show_each_role_the_buttons_the_policy_allows(live, published) -> None:
    ep = endpoints.publish_endpoint(live.svc, name="roles-ep", published_pipeline_id=published)
    sched = schedules.create_schedule(live.svc, name="roles-sched", experiment_name="roles",
                                      published_pipeline_id=published,
                                      recurrence=ScheduleRecurrence(frequency="Day", interval=1))
    run_id = live.client("submitter").post(f"/pipelines/{published}/submit", json={
        "ExperimentName": "roles", "ParameterAssignments": {"tag": "roles-page", "wait_for": "never"}}).json()["Id"]
    wrong = []
    for role in ROLES:
        c, r = _ui_session(live, role), Role(role)
        pages = {
            f"/pipelines/{published}": {'id="submit"': A.SUBMIT_RUN, 'class="pl-toggle"': A.CHANGE_PUBLISHED},
            f"/endpoints/{ep.id}": {'id="submit"': A.SUBMIT_RUN, 'class="pl-toggle"': A.MANAGE_ENDPOINTS},
            "/schedules": {f'action="/schedules/{sched.id}/disable"': A.MANAGE_SCHEDULES},
            f"/schedules/{sched.id}": {f'action="/schedules/{sched.id}/disable"': A.MANAGE_SCHEDULES},
            f"/runs/{run_id}": {'id="cancel-run"': A.CANCEL_RUN, 'id="resubmit-run"': A.SUBMIT_RUN},
        }
        for url, marks in pages.items():
            html = c.get(url)
            if html.status_code != 200:
                wrong.append(f"GET {url} as {role}: {html.status_code}")
                continue
            for mark, action in marks.items():
                if (mark in html.text) != allows(r, action):
                    wrong.append(f"GET {url} as {role}: {mark} {'missing' if allows(r, action) else 'shown'}")
    assert not wrong, "\n".join(wrong)
