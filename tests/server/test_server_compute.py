"""``/api/v1/computes`` on the real ``live`` server: list, get, create-if-missing, delete, roles, errors."""

from __future__ import annotations

AML = {"Type": "AmlCompute", "Properties": {"vm_size": "STANDARD_D2_V2", "min_nodes": 0, "max_nodes": 4}}


def test_put_get_list_and_delete_with_roles(live) -> None:
    admin, submitter, reader = live.client("admin"), live.client("submitter"), live.client("reader")
    assert [c["Name"] for c in reader.get("/computes").json()["Value"]] == ["local"]
    assert reader.put("/computes/cpu-cluster", json=AML).status_code == 403
    created = submitter.put("/computes/cpu-cluster", json=AML)
    assert created.status_code == 200, created.text
    assert {k: created.json()[k] for k in ("Name", "Type", "Properties", "ProvisioningState")} == {
        "Name": "cpu-cluster", "Type": "AmlCompute", "Properties": AML["Properties"], "ProvisioningState": "Succeeded"}
    again = submitter.put("/computes/cpu-cluster", json={**AML, "Properties": {"max_nodes": 9}})
    assert again.json()["Properties"]["max_nodes"] == 4  # kept as first configured
    assert reader.get("/computes/cpu-cluster").json() == created.json()
    assert [c["Name"] for c in reader.get("/computes").json()["Value"]] == ["local", "cpu-cluster"]

    assert submitter.delete("/computes/cpu-cluster").status_code == 403
    assert admin.delete("/computes/cpu-cluster").status_code == 204
    missing = reader.get("/computes/cpu-cluster")
    assert missing.status_code == 404 and "configured targets: local" in missing.json()["Error"]["Message"]
    assert admin.delete("/computes/local").status_code == 409


def test_bad_requests_name_the_problem(live) -> None:
    admin = live.client("admin")
    bad_type = admin.put("/computes/x1", json={"Type": "Kubernetes"})
    assert bad_type.status_code == 400 and "'Kubernetes' is not supported" in bad_type.json()["Error"]["Message"]
    bad_nodes = admin.put("/computes/x2", json={"Type": "AmlCompute", "Properties": {"max_nodes": 0}})
    assert bad_nodes.status_code == 400 and "max_nodes" in bad_nodes.json()["Error"]["Message"]
    admin.put("/computes/x3", json=AML)
    clash = admin.put("/computes/x3", json={"Type": "local"})
    assert clash.status_code == 409 and "AmlCompute target" in clash.json()["Error"]["Message"]


def test_a_dask_target_over_rest(live) -> None:
    admin = live.client("admin")
    created = admin.put("/computes/dask1", json={"Type": "dask", "Properties": {"address": "tcp://10.1.2.3:8786",
                                                                                "resources": {"GPU": 1}}})
    assert created.status_code == 200, created.text
    props = created.json()["Properties"]
    assert (props["address"], props["resources"], props["retries"]) == ("tcp://10.1.2.3:8786", {"GPU": 1.0}, 1)
    assert live.client("reader").get("/computes/dask1").json()["Type"] == "dask"
    bad = admin.put("/computes/dask2", json={"Type": "dask", "Properties": {"address": "10.1.2.3"}})
    assert bad.status_code == 400 and "not a Dask scheduler address" in bad.json()["Error"]["Message"]
