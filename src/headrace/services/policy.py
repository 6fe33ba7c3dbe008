"""Who may do what: the one table of actions and the least role each needs, for REST and UI alike.

The policy is by role, over the whole workspace, as Azure ML's built-in roles and Prefect's
workspace roles are; objects have no per-token owner. A token is a credential a team or a job
holds (``ci``, ``nightly``), not a person, and tokens are rotated: an object tied to the token
that created it would become unmanageable the day that token is revoked.

The line is drawn at what others rely on. A submitter *starts* work (submits runs, scores flows,
cancels runs, edits and runs pipeline drafts: unpublished, nobody else's work runs them) and *adds* data (uploads files that do not exist yet, registers datasets, environments and model versions: their
versions are immutable and pinned, so a new one replaces nothing). Anything that changes what
runs unattended or what a shared name stands for is an admin's: publishing (a published pipeline
or flow is callable by every submitter), endpoints and their default version (what every caller
of that name runs), enabling and disabling, schedules (work the server starts on its own),
replacing an existing file (someone's input), unregistering a dataset, a model's stages and aliases
(``Production`` and ``champion`` are what release pipelines and callers take) and deleting a model version, datastores and connections
(credentials).
"""

from __future__ import annotations

from enum import Enum

from headrace.storage.records import Role


class Action(str, Enum):
    """Something a caller asks for; ``MINIMUM_ROLE`` says which role it needs."""

    READ = "read"
    SUBMIT_RUN = "submit a run"
    CANCEL_RUN = "cancel a run"
    SCORE_FLOW = "score a published flow"
    UPLOAD_FILE = "upload a new datastore file"
    REGISTER_DATASET = "register a dataset or a new version of one, or change a version's description and tags"
    REPLACE_FILE = "replace an existing datastore file"
    PUBLISH = "publish a pipeline or flow"
    MANAGE_ENDPOINTS = "create or change a pipeline endpoint"
    CHANGE_PUBLISHED = "enable, disable or set the default version of a published pipeline or flow"
    MANAGE_SCHEDULES = "create, change, enable, disable or delete a schedule"
    MANAGE_DATASTORES = "register or unregister a datastore"
    MANAGE_CONNECTIONS = "create, change or delete a connection"
    UNREGISTER_DATASET = "unregister a dataset"
    EDIT_DRAFT = "create, change, delete or run a pipeline draft"
    CREATE_COMPUTE = "create a compute target that does not exist yet (an existing one is never changed)"
    MANAGE_COMPUTE = "delete a compute target"
    MANAGE_WEBHOOKS = "see, create, change, test or delete a webhook subscription"
    MANAGE_TRIGGERS = "create, change, enable, disable or delete an event trigger"
    POST_EVENT = "post an event to a trigger"
    REGISTER_ENVIRONMENT = "register an environment version or build one on the server"
    REGISTER_MODEL = "register a model version, or add tags and properties to one"
    PROMOTE_MODEL = "move a model version to a stage, or set or delete a model alias"
    DELETE_MODEL = "delete a model version"


MINIMUM_ROLE: dict[Action, Role] = {
    Action.READ: Role.READER,
    Action.SUBMIT_RUN: Role.SUBMITTER,
    Action.CANCEL_RUN: Role.SUBMITTER,
    Action.SCORE_FLOW: Role.SUBMITTER,
    Action.UPLOAD_FILE: Role.SUBMITTER,
    Action.REGISTER_DATASET: Role.SUBMITTER,
    Action.REPLACE_FILE: Role.ADMIN,
    Action.PUBLISH: Role.ADMIN,
    Action.MANAGE_ENDPOINTS: Role.ADMIN,
    Action.CHANGE_PUBLISHED: Role.ADMIN,
    Action.MANAGE_SCHEDULES: Role.ADMIN,
    Action.MANAGE_DATASTORES: Role.ADMIN,
    Action.MANAGE_CONNECTIONS: Role.ADMIN,
    Action.UNREGISTER_DATASET: Role.ADMIN,
    Action.EDIT_DRAFT: Role.SUBMITTER,
    Action.CREATE_COMPUTE: Role.SUBMITTER,
    Action.MANAGE_COMPUTE: Role.ADMIN,
    Action.MANAGE_WEBHOOKS: Role.ADMIN,
    Action.MANAGE_TRIGGERS: Role.ADMIN,
    Action.POST_EVENT: Role.SUBMITTER,
    Action.REGISTER_ENVIRONMENT: Role.SUBMITTER,
    Action.REGISTER_MODEL: Role.SUBMITTER,
    Action.PROMOTE_MODEL: Role.ADMIN,
    Action.DELETE_MODEL: Role.ADMIN,
}


def allows(role: Role | None, action: Action) -> bool:
    """Whether ``role`` may do ``action``; None (auth off) may do everything."""
    return role is None or role.rank >= MINIMUM_ROLE[action].rank


def refusal(role: Role, action: Action, who: str | None = None) -> str:
    """The message telling a caller why ``action`` is refused and which role it needs."""
    holder = f"token {who!r} has" if who else "this session has"
    return f"this call ({action.value}) needs the {MINIMUM_ROLE[action].value} role; {holder} the {role.value} role"
