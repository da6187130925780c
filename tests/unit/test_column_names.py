from __future__ import annotations

from spark_jobs.curated.column_names import assign_names, base_name, path_comment, path_from_comment


def test_naming_rule() -> None:
    assert base_name(("customer", "address", "city")) == "customer__address__city"
    assert base_name(("Weird Key.with-dots",)) == "weird_key_with_dots"
    assert base_name(("Café",)) == "cafe"
    assert base_name(("2fa",)) == "_2fa"
    assert base_name(("日本",)) == "field"
    assert base_name(("select",)) == "select"  # quoted in SQL, so keywords are fine


def test_collisions_get_suffixes_and_the_clean_name_wins() -> None:
    names = assign_names([("Email",), ("email",), ("E-mail",), ("EMAIL",)], existing={})
    assert names == {("email",): "email", ("E-mail",): "e_mail", ("EMAIL",): "email_2", ("Email",): "email_3"}


def test_existing_columns_never_move() -> None:
    existing = {("email",): "email"}
    names = assign_names([("Email",), ("email",)], existing=existing)
    assert names[("email",)] == "email"
    assert names[("Email",)] == "email_2"
    assert assign_names([("email",)], existing={("Email",): "email"}) == {
        ("Email",): "email",
        ("email",): "email_2",
    }


def test_reserved_lineage_names_are_avoided() -> None:
    assert assign_names([("_run_id",)], existing={}, reserved=["run_id"]) == {("_run_id",): "run_id_2"}


def test_comment_round_trip() -> None:
    path = ("customer", "E-mail", 'we"ird')
    assert path_from_comment(path_comment(path)) == path
    assert path_from_comment("free text") is None
