from tests import factories


def test_account_manager_registers_a_session_and_client_requests_it(am_api, client_api, client_entity):
    firm = am_api.post(
        "/api/v1/clearing-firms/",
        {"code": "ABC", "name": "ABC Clearing"},
        format="json",
    )
    assert firm.status_code == 201, firm.json()
    gfid = am_api.post(
        "/api/v1/gfids/",
        {
            "code": "XYZ",
            "venue": "CME",
            "entity": client_entity.id,
            "clearing_firm": firm.json()["id"],
        },
        format="json",
    )
    assert gfid.status_code == 201, gfid.json()
    gateways = am_api.get("/api/v1/cgw-gateways/?venue=CME&environment=PRODUCTION").json()
    assert gateways["count"] == 4
    session = am_api.post(
        "/api/v1/source-sessions/",
        {
            "sender_comp_id": "AAAXYZN",
            "venue": "CME",
            "environment": "PRODUCTION",
            "gateway_type": "CGW",
            "cgw_gateway": gateways["results"][0]["id"],
            "gfid": gfid.json()["id"],
        },
        format="json",
    )
    assert session.status_code == 201, session.json()
    assert session.json()["clearing_firm"] == firm.json()["id"]
    fes = factories.FrontEndSystemFactory(entity=client_entity)
    certification = client_api.post(
        "/api/v1/certifications/",
        {"front_end_system": fes.id, "venue": "CME", "gateway_type": "CGW"},
        format="json",
    )
    assert certification.status_code == 201, certification.json()
    passed = am_api.post(
        f"/api/v1/certifications/{certification.json()['id']}/pass/", {"note": "All checks shown."}, format="json"
    )
    assert passed.status_code == 200, passed.json()
    preview = client_api.get(f"/api/v1/entities/{client_entity.id}/fee-preview/").json()
    group = client_api.post(
        "/api/v1/groups/",
        {
            "name": "Main",
            "venue": "CME",
            "environment": "PRODUCTION",
            "front_end_system": fes.id,
            "confirmed_monthly_fee": preview["monthly_fee"],
        },
        format="json",
    )
    assert group.status_code == 201, group.json()
    membership = client_api.post(
        "/api/v1/memberships/",
        {"group": group.json()["id"], "source_session": session.json()["id"]},
        format="json",
    )
    assert membership.status_code == 201, membership.json()
    assert membership.json()["status"] == "pending"
    audit = am_api.get("/api/v1/audit/").json()
    assert audit["count"] >= 5
