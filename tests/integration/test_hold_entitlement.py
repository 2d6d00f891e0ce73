"""Entitlement applies to holds as to consume: a trial credit covers a hold (no tokens held,
the credit comes back on release)."""

from flask.testing import FlaskClient, FlaskCliRunner

from tests.support.api import ApiClient, RegisteredUser


def test_a_trial_credit_covers_a_hold_and_comes_back_on_release(
    api: ApiClient, client: FlaskClient, runner: FlaskCliRunner, user: RegisteredUser
) -> None:
    created = runner.invoke(args=["apikeys", "create", "render-farm"])
    key = created.output.strip().splitlines()[-1]
    headers = {"X-API-Key": key}
    url = f"/api/v1/service/users/{user.id}/tokens/holds"

    def trial() -> int:
        current = client.get("/api/v1/user/entitlement", headers=user.headers)
        assert current.status_code == 200, current.get_json()
        remaining: int = current.get_json()["trial_remaining"]
        return remaining

    before = trial()
    assert before > 0
    placed = client.post(url, json={"amount": 5, "reference": "t"}, headers=headers)
    assert placed.status_code == 201, placed.get_json()
    body = placed.get_json()
    assert (body["source"], body["held_tokens"], body["held"]) == ("trial", 0, 0)
    assert trial() == before - 1
    released = client.post(f"{url}/{body['id']}/release", headers=headers)
    assert released.status_code == 200
    assert trial() == before
