"""Compute targets under Azure ML's names: ``ComputeTarget``, ``AmlCompute`` and its provisioning.

A compute target is a named, stored object of the workspace (``headrace.services.compute``).
Provisioning an ``AmlCompute`` stores a target that runs on the workspace's local agent, with
``max_nodes`` the most steps of one run it executes at once; nothing is provisioned, so it is
ready at once. A name an admin already configured keeps its configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from headrace.errors import AlreadyExistsError, ComputeTargetException, ConfigError, NotFoundError
from headrace.storage.records import ComputeTargetRecord

__all__ = ["AmlCompute", "AmlComputeProvisioningConfiguration", "ComputeTarget", "ComputeTargetException",
           "ComputeStatus"]


@dataclass
class AmlComputeProvisioningConfiguration:
    """What ``AmlCompute.provisioning_configuration`` returns; ``ComputeTarget.create`` stores it."""

    vm_size: str = ""
    vm_priority: str = "dedicated"
    min_nodes: int = 0
    max_nodes: int | None = None
    idle_seconds_before_scaledown: int | None = 1800
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    type = "AmlCompute"

    def to_config(self) -> dict[str, Any]:
        return {"vm_size": self.vm_size, "vm_priority": self.vm_priority, "min_nodes": self.min_nodes,
                "max_nodes": self.max_nodes, "idle_seconds_before_scaledown": self.idle_seconds_before_scaledown,
                "tags": dict(self.tags)}

    def validate_configuration(self) -> None:
        """Raises: ComputeTargetException for node counts that make no sense."""
        if self.max_nodes is not None and (self.max_nodes < 1 or self.max_nodes < self.min_nodes):
            raise ComputeTargetException(f"max_nodes must be >= 1 and >= min_nodes, not {self.max_nodes!r}")


@dataclass(frozen=True)
class ComputeStatus:
    """What ``get_status()`` returns: a target that is always ready."""

    provisioning_state: str
    allocation_state: str
    current_node_count: int
    target_node_count: int
    vm_size: str
    scale_settings: dict[str, Any]
    errors: list[Any] = field(default_factory=list)

    def serialize(self) -> dict[str, Any]:
        return {"provisioningState": self.provisioning_state, "allocationState": self.allocation_state,
                "currentNodeCount": self.current_node_count, "targetNodeCount": self.target_node_count,
                "vmSize": self.vm_size, "scaleSettings": dict(self.scale_settings), "errors": list(self.errors)}


class ComputeTarget:
    """A named compute target of a workspace.

    ``ComputeTarget(ws, name)`` (or ``AmlCompute(ws, name)``) loads it and raises
    ``ComputeTargetException`` when it does not exist, which is how Azure ML code decides to create it.

    Attributes:
        name: the target's name, what steps give as ``compute_target``.
        type: "local", "AmlCompute", ... (what runs its steps).
        provisioning_state: always "Succeeded".

    Example:
        >>> try:
        ...     target = AmlCompute(ws, "cpu-cluster")
        ... except ComputeTargetException:
        ...     config = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", max_nodes=4)
        ...     target = ComputeTarget.create(ws, "cpu-cluster", config)
        ...     target.wait_for_completion(show_output=True)
    """

    def __new__(cls, workspace: Any = None, name: str | None = None, _record: ComputeTargetRecord | None = None):
        """``ComputeTarget(ws, name)`` is an instance of the target's own class (``DaskCompute``...), as in Azure ML."""
        if cls is ComputeTarget and workspace is not None and name is not None:
            try:
                record = _record or workspace._backend.get_compute_target(name)
            except NotFoundError:
                return super().__new__(cls)  # __init__ raises ComputeTargetException
            return super().__new__(_class_for(record.type))
        return super().__new__(cls)

    def __init__(self, workspace: Any, name: str, _record: ComputeTargetRecord | None = None):
        self.workspace = workspace
        if _record is None:
            try:
                _record = workspace._backend.get_compute_target(name)
            except NotFoundError as exc:
                raise ComputeTargetException(
                    f"ComputeTargetNotFound: compute target {name!r} not found in workspace {workspace.name!r}; "
                    f"{str(exc).split('; ', 1)[-1]}") from exc
        self._record = _record
        self.name = _record.name
        self.type = _record.type
        self.provisioning_state = "Succeeded"
        self.provisioning_errors: list[Any] = []

    @staticmethod
    def create(workspace: Any, name: str, provisioning_configuration: Any) -> ComputeTarget:
        """Store the compute target ``name`` (returned as is when a target of that type exists).

        Raises:
            ComputeTargetException: a bad name or configuration, or the name holds another type of target.
        """
        kind = getattr(provisioning_configuration, "type", "AmlCompute")
        config = provisioning_configuration.to_config() if hasattr(provisioning_configuration, "to_config") else {}
        description = getattr(provisioning_configuration, "description", None)
        try:
            record = workspace._backend.create_compute_target(name, kind, config, description)
        except (ConfigError, AlreadyExistsError) as exc:
            raise ComputeTargetException(f"cannot create compute target {name!r}: {exc}") from exc
        return _wrap(workspace, record)

    @staticmethod
    def attach(workspace: Any, name: str, attach_configuration: Any) -> ComputeTarget:
        """Store a target for an existing cluster (``DaskCompute.attach_configuration(address=...)``).

        Raises:
            ComputeTargetException: as ``create``.

        Example:
            >>> cluster = ComputeTarget.attach(ws, "dask", DaskCompute.attach_configuration(
            ...     address="tcp://scheduler:8786", resources={"GPU": 1}))
        """
        return ComputeTarget.create(workspace, name, attach_configuration)

    @staticmethod
    def list(workspace: Any) -> list[ComputeTarget]:
        """Every compute target of the workspace, "local" first."""
        return [_wrap(workspace, r) for r in workspace._backend.list_compute_targets()]

    @property
    def vm_size(self) -> str:
        return str(self._record.config.get("vm_size") or "")

    @property
    def scale_settings(self) -> dict[str, Any]:
        c = self._record.config
        return {"minimum_node_count": c.get("min_nodes") or 0, "maximum_node_count": c.get("max_nodes"),
                "idle_seconds_before_scaledown": c.get("idle_seconds_before_scaledown")}

    @property
    def max_nodes(self) -> int | None:
        """The most steps of one run this target executes at once (None: the agent's limit)."""
        return self._record.config.get("max_nodes")

    def wait_for_completion(self, show_output: bool = False, min_node_count: int | None = None,
                            timeout_in_minutes: float = 25, is_delete_operation: bool = False) -> None:
        """Return at once: there is nothing to provision. With ``show_output``, say so."""
        if show_output:
            print(f"Provisioning of compute target {self.name!r} ({self.type}) finished: Succeeded")

    def refresh_state(self) -> None:
        self._record = self.workspace._backend.get_compute_target(self.name)

    def get_status(self) -> ComputeStatus:
        nodes = self.max_nodes or 1
        return ComputeStatus(provisioning_state="Succeeded", allocation_state="Steady",
                             current_node_count=nodes, target_node_count=nodes, vm_size=self.vm_size,
                             scale_settings=self.scale_settings)

    def delete(self) -> None:
        """Remove the target (steps naming it can no longer be submitted). Raises: ComputeTargetException."""
        try:
            self.workspace._backend.delete_compute_target(self.name)
        except Exception as exc:
            raise ComputeTargetException(f"cannot delete compute target {self.name!r}: {exc}") from exc

    detach = delete

    def serialize(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "provisioningState": self.provisioning_state,
                "properties": dict(self._record.config), "description": self._record.description}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(workspace={self.workspace.name!r}, name={self.name!r}, type={self.type!r})"


class AmlCompute(ComputeTarget):
    """Azure ML's managed cluster; here a named target on the local agent (``max_nodes`` parallel steps)."""

    @staticmethod
    def provisioning_configuration(vm_size: str = "", vm_priority: str = "dedicated", min_nodes: int = 0,
                                   max_nodes: int | None = None, idle_seconds_before_scaledown: int | None = 1800,
                                   admin_username: str | None = None, admin_user_password: str | None = None,
                                   admin_user_ssh_key: str | None = None, vnet_resourcegroup_name: str | None = None,
                                   vnet_name: str | None = None, subnet_name: str | None = None,
                                   tags: dict[str, str] | None = None, description: str | None = None,
                                   remote_login_port_public_access: str = "NotSpecified",
                                   identity_type: str | None = None, identity_id: Any = None,
                                   location: str | None = None, enable_node_public_ip: bool = True,
                                   ) -> AmlComputeProvisioningConfiguration:
        """A configuration for ``ComputeTarget.create``. Only the node counts matter here; the VM, network,
        login and identity settings are accepted and recorded (``vm_size``) or ignored."""
        config = AmlComputeProvisioningConfiguration(
            vm_size=vm_size, vm_priority=vm_priority, min_nodes=min_nodes, max_nodes=max_nodes,
            idle_seconds_before_scaledown=idle_seconds_before_scaledown, description=description,
            tags=dict(tags or {}))
        config.validate_configuration()
        return config


def _class_for(kind: str) -> type[ComputeTarget]:
    from headrace.sdk.compute.dask import DaskCompute

    return {"AmlCompute": AmlCompute, "dask": DaskCompute}.get(kind, ComputeTarget)


def _wrap(workspace: Any, record: ComputeTargetRecord) -> ComputeTarget:
    return _class_for(record.type)(workspace, record.name, _record=record)
