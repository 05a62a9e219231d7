"""The development plan: goal files in content/plan/, activities that name them, and what the site shows."""

from __future__ import annotations

from datetime import date

import pytest

from conftest import REPO, activity_text
from cpdgen.loader import load_portfolio
from cpdgen.portfolio import goals_with_activities
from cpdgen.site.build import build_site
from test_site_build import site_text

AS_OF = date(2026, 11, 28)


def goal_text(title: str = "Lead the transfusion laboratory", body: str = "Notes.", **front: object) -> str:
    lines = ["---", f"title: {title}"]
    for key, value in front.items():
        if isinstance(value, list):
            lines.append(f"{key}:")
            lines += [f"  - {item}" for item in value]
        else:
            lines.append(f"{key}: {str(value).lower() if isinstance(value, bool) else value}")
    return "\n".join([*lines, "---", body]) + "\n"


def problems(portfolio) -> list[str]:
    return [f"{p.path}:{p.line}: {p.code}: {p.message}" for p in load_portfolio(portfolio.root).problems]


def test_a_goal_is_read_with_its_fields_and_goals_are_ordered(portfolio):
    portfolio.write(
        "plan/transfusion.md",
        goal_text(
            why="Deputise for the lead by 2027",
            planned=["Advanced course, 10 to 12 November 2027", "Shadow the lead"],
            target="2027-11-12",
            review="2027-01-27",
        ),
    )
    portfolio.write("plan/hplc.md", goal_text("Report HPLC screens", status="done", target="2026-09-30"))
    portfolio.write("plan/early.md", goal_text("Earlier target", target="2027-01-01"))
    portfolio.write("plan/dropped.md", goal_text("Dropped one", status="Dropped"))
    loaded = load_portfolio(portfolio.root)
    assert loaded.problems == []
    assert [g.id for g in loaded.goals] == ["early", "transfusion", "hplc", "dropped"]
    goal = loaded.goals[1]
    assert goal.meta.planned == ["Advanced course, 10 to 12 November 2027", "Shadow the lead"]
    assert (goal.meta.target, goal.meta.review, goal.status) == (date(2027, 11, 12), date(2027, 1, 27), "open")
    assert goal.path == "content/plan/transfusion.md" and goal.body == "Notes.\n" and goal.body_line == 10


@pytest.mark.parametrize(
    "text, expected",
    [
        (goal_text(status="pending"), "content/plan/g.md:3: invalid-value: status 'pending' is not one of: open, done"),
        (
            goal_text(revue="2027-01-01"),
            "content/plan/g.md:3: unknown-field: unknown key 'revue'; did you mean 'review'?",
        ),
        (goal_text(target="12/11/2027"), "content/plan/g.md:3: invalid-date: target: write dates as YYYY-MM-DD"),
        (goal_text(private="perhaps"), "content/plan/g.md:3: invalid-boolean: private: write true or false"),
        ("---\nwhy: x\n---\n", "content/plan/g.md:1: missing-field: 'title' is missing"),
        (
            "No front matter here.\n",
            "content/plan/g.md:1: no-front-matter: this file has no front matter; start the file with a line '---', "
            "then 'title:' (and 'status:', 'target:', 'review:' if you like), then '---'",
        ),
    ],
)
def test_a_bad_goal_file_is_a_problem_with_its_line(portfolio, text, expected):
    portfolio.write("plan/g.md", text)
    found = problems(portfolio)
    assert any(p.startswith(expected) for p in found), found
    assert load_portfolio(portfolio.root).goals == []


def test_an_activity_names_its_goal_and_goals_list_their_activities(portfolio):
    portfolio.write("plan/transfusion.md", goal_text())
    portfolio.activity("2026-02-01-a", activity_text(date="2026-02-01", goal="transfusion"))
    portfolio.activity("2026-03-01-private", activity_text(date="2026-03-01", goal="transfusion", private=True))
    portfolio.activity("2026-04-01-draft", activity_text(date="2026-04-01", goal="transfusion", draft=True))
    portfolio.activity("2026-05-01-other", activity_text(date="2026-05-01"))
    loaded = load_portfolio(portfolio.root)
    assert loaded.problems == []
    (found,) = goals_with_activities(loaded)
    assert [a.id for a in found.activities] == ["2026-02-01-a", "2026-03-01-private"]
    assert [a.id for a in goals_with_activities(loaded, drafts=True)[0].activities][-1] == "2026-04-01-draft"
    assert [a.id for a in goals_with_activities(loaded, public=True)[0].activities] == ["2026-02-01-a"]


def test_a_private_goal_is_left_out_of_the_public_list(portfolio):
    portfolio.write("plan/secret.md", goal_text("A secret goal", private=True))
    loaded = load_portfolio(portfolio.root)
    assert [g.goal.id for g in goals_with_activities(loaded)] == ["secret"]
    assert goals_with_activities(loaded, public=True) == []


@pytest.mark.parametrize(
    "goals, expected",
    [
        (["transfusion"], "no goal of your plan has the id 'transfusoin'; did you mean 'transfusion'?"),
        (["hplc", "msc"], "no goal of your plan has the id 'transfusoin'; the goals are: hplc, msc"),
        (
            [],
            "no goal of your plan has the id 'transfusoin'; a goal is a file in content/plan/, and its id is the "
            "file's name without .md",
        ),
    ],
)
def test_an_unknown_goal_is_an_error_at_its_line_with_a_hint(portfolio, goals, expected):
    for goal in goals:
        portfolio.write(f"plan/{goal}.md", goal_text())
    portfolio.activity("2026-02-01-a", activity_text(date="2026-02-01", goal="transfusoin"))
    assert problems(portfolio) == [f"content/activities/2026-02-01-a.md:5: unknown-goal: {expected}"]


def test_an_unknown_goal_in_a_private_activity_does_not_stop_the_site(portfolio):
    portfolio.activity("2026-02-01-a", activity_text(date="2026-02-01", goal="nowhere", private=True))
    (problem,) = load_portfolio(portfolio.root).problems
    assert problem.code == "unknown-goal" and not problem.publishes
    assert build_site(portfolio.root, as_of=AS_OF, pdf=False).written


def test_two_goals_with_one_id_ignoring_case(portfolio):
    portfolio.write("plan/MSc.md", goal_text())
    portfolio.write("plan/msc.md", goal_text())
    found = problems(portfolio)
    assert (
        len(found) == 1 and ": duplicate-id: goal id '" in found[0] and "is already used by content/plan/" in found[0]
    )


@pytest.mark.parametrize("kind", ["file", "pipe"])
def test_a_plan_that_is_not_a_folder_is_a_problem(portfolio, kind):
    """content/plan as a file (or a pipe): no goal can be read, which must be said, not left to
    each activity's unknown-goal error."""
    import os

    if kind == "file":
        (portfolio.content / "plan").write_text("Lead the laboratory\n")
    else:
        os.mkfifo(portfolio.content / "plan")
    found = problems(portfolio)
    assert any(p.startswith("content/plan:None: folder-not-read: content/plan is not a folder") for p in found), found
    assert not any("evidence-not-checked" in p for p in found)


def test_plan_files_are_read_and_other_markdown_is_still_reported(portfolio):
    portfolio.write("plan/g.md", goal_text())
    portfolio.write("notes/ideas.md", "# ideas\n")
    (problem,) = load_portfolio(portfolio.root).problems
    assert problem.path == "content/notes/ideas.md" and problem.code == "not-read"
    assert "the goals of your plan in content/plan/" in problem.message


# --- on the site ----------------------------------------------------------------------------


def test_the_site_shows_published_goals_with_their_published_activities(portfolio):
    portfolio.write(
        "plan/transfusion.md",
        goal_text("Lead the laboratory", body="## Milestones\n\nA *plan*.", planned=["A course"], target="2027-11-12"),
    )
    portfolio.write("plan/secret.md", goal_text("Apply for the band 8a post", body="My secret plan.", private=True))
    portfolio.activity("2026-02-01-a", activity_text(title="Public step", date="2026-02-01", goal="transfusion"))
    portfolio.activity(
        "2026-03-01-p", activity_text(title="Private step", date="2026-03-01", goal="transfusion", private=True)
    )
    portfolio.activity("2026-04-01-s", activity_text(title="Step to the secret", date="2026-04-01", goal="secret"))
    result = build_site(portfolio.root, as_of=AS_OF, pdf=False)
    assert result.written, result.problems
    site = result.out
    plan = (site / "plan/index.html").read_text()
    assert 'id="goal-transfusion"' in plan and "Lead the laboratory" in plan and "A course" in plan
    assert "<h3>Milestones</h3>" in plan and "<em>plan</em>" in plan
    assert "Public step" in plan and "Private step" not in plan and "Also 1 private activity not shown" in plan
    dashboard = (site / "index.html").read_text()
    assert 'href="plan/index.html#goal-transfusion"' in dashboard and "target 12 November 2027" in dashboard
    page = (site / "activities/2026-02-01-a/index.html").read_text()
    assert 'href="../../plan/index.html#goal-transfusion">Lead the laboratory</a>' in page
    # A private goal appears nowhere, not even on the page of a public activity that names it.
    everything = site_text(site)
    assert "band 8a" not in everything and "My secret plan" not in everything and "goal-secret" not in everything
    assert "Step to the secret" in everything


def test_without_published_goals_there_is_no_plan_page(portfolio):
    portfolio.write("plan/secret.md", goal_text(private=True))
    result = build_site(portfolio.root, as_of=AS_OF, pdf=False)
    assert result.written and not (result.out / "plan").exists()
    assert "Development plan" not in (result.out / "index.html").read_text()


# --- the privacy scan -----------------------------------------------------------------------


def test_the_privacy_scan_reads_goals_and_a_private_goal_does_not_stop_the_site(portfolio):
    portfolio.write("plan/public.md", goal_text(body="Follow up 943 476 5919 next week."))
    found = [p for p in load_portfolio(portfolio.root).problems if p.code == "nhs-number"]
    assert [(p.path, p.line, p.publishes) for p in found] == [("content/plan/public.md", 4, True)]
    assert "under privacy: allow: in portfolio.yaml" in found[0].message
    assert not build_site(portfolio.root, as_of=AS_OF, pdf=False).written

    portfolio.write("plan/public.md", goal_text(body="Follow up 943 476 5919 next week.", private=True))
    found = [p for p in load_portfolio(portfolio.root).problems if p.code == "nhs-number"]
    assert [(p.line, p.publishes) for p in found] == [(5, False)] and "the goal is private" in found[0].message
    assert build_site(portfolio.root, as_of=AS_OF, pdf=False).written


def test_an_identifier_in_a_goal_s_file_name_is_published_with_the_goal(portfolio):
    """A goal's id (its file name) is in the plan page's links: the finding says so and stops the
    site, and for a private goal says why it is not published, never "no published activity"."""
    portfolio.write("plan/9434765919.md", goal_text())
    (found,) = [p for p in load_portfolio(portfolio.root).problems if p.code == "nhs-number" and p.line is None]
    assert (found.path, found.publishes) == ("content/plan/9434765919.md", True)
    assert "no published activity" not in found.message
    assert not build_site(portfolio.root, as_of=AS_OF, pdf=False).written

    portfolio.write("plan/9434765919.md", goal_text(private=True))
    (found,) = [p for p in load_portfolio(portfolio.root).problems if p.code == "nhs-number"]
    assert found.publishes is False and "the goal is private" in found.message
    assert build_site(portfolio.root, as_of=AS_OF, pdf=False).written


def test_the_privacy_scan_reads_a_goal_s_values_as_yaml_read_them(portfolio):
    portfolio.write("plan/g.md", '---\ntitle: "Patient \\x39434765919"\n---\n')
    (problem,) = [p for p in load_portfolio(portfolio.root).problems if p.code == "nhs-number"]
    assert (problem.path, problem.line) == ("content/plan/g.md", 2)


# --- the example portfolio ------------------------------------------------------------------


def test_the_example_plans_in_content_plan_not_in_a_future_activity():
    loaded = load_portfolio(REPO)
    assert not [a for a in loaded.activities if a.title.startswith("Planned:")]
    assert {g.id for g in loaded.goals} >= {"senior-transfusion-practice"}
    (senior,) = [g for g in goals_with_activities(loaded) if g.goal.id == "senior-transfusion-practice"]
    assert senior.goal.meta.target == date(2027, 11, 12) and len(senior.activities) >= 3
