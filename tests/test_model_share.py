# TEST MODEL SHARE PY
# The counts of model-chosen points and the judge of a model that does not
# keep up (issue 22): what the summary, the report and the log say.

from ModelShare import JUDGE_AFTER, JUDGE_DURING, ModelShare, count_origins


def test_counts_all_points_and_those_after_the_design():
    share = ModelShare()
    share.add(["random"] * 10, after_design=False)
    share.add(["random", "model", "model"], after_design=True)
    assert (share.chosen, share.issued) == (2, 13)
    assert (share.chosen_late, share.issued_late) == (2, 3)
    assert share.line() == "model chose 2 of 13 points"


def test_a_model_that_keeps_up_is_not_judged():
    share = ModelShare()
    share.add(["random"] * 100, after_design=False)  # the initial design is random by design
    share.add(["model"] * 19 + ["random"], after_design=True)
    assert share.lagging(final=True) is None


def test_too_few_points_are_not_judged():
    share = ModelShare()
    share.add(["random"] * (JUDGE_AFTER - 1), after_design=True)
    assert share.lagging(final=True) is None
    share.add(["random"], after_design=True)
    assert share.lagging(final=True) is not None


def test_a_run_under_way_is_judged_on_more_points():
    """The first fit's bridge of random points does not make a run under way lag."""
    share = ModelShare()
    share.add(["random"] * 13 + ["model"] * 50, after_design=True)
    assert share.lagging(final=False) is None
    share.add(["model"] * (JUDGE_DURING - 63), after_design=True)
    assert share.lagging(final=False) is None  # 0.97 of them
    share.add(["random"] * JUDGE_DURING, after_design=True)
    assert share.lagging(final=False) is not None


def test_a_starved_fitter_is_told_to_get_a_core():
    share = ModelShare()
    share.add(["random"] * 30 + ["model"] * 10, after_design=True)
    share.add_fit(seconds=4.0, cpu=0.1)  # 2.5 % of a core
    said = share.lagging(final=True)
    assert said is not None
    assert "10 of the 40 points" in said and "got 2% of a core" in said
    assert "core of its own" in said


def test_short_tasks_are_told_to_do_more_per_task():
    share = ModelShare()
    share.add(["random"] * 12, after_design=True)
    said = share.lagging(final=True)
    assert said is not None and "the first fit had not landed" in said
    share.add_fit(seconds=0.5, cpu=0.5)
    said = share.lagging(final=True)
    assert said is not None and "a fit takes 0.50 s" in said and "longer tasks" in said


def test_started_csv_origins_are_counted():
    share = count_origins(["random", "model", "again", "elsewhere", "model", ""])
    assert share.line() == "model chose 2 of 3 points"


def test_the_summary_and_the_report_say_how_many_points_the_model_chose(tmp_path):
    """A real run: its summary line and report.sh's report count started.csv's origins."""
    import csv
    import io

    from conftest import run_main

    import Report

    output = tmp_path / "out"
    result = run_main(["-o", str(output), "1", "2", "6"], env={"DRYRUN": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    with open(output / "started.csv", newline="") as stream:
        origins = [row["origin"] for row in csv.DictReader(stream)]
    expected = f"model chose {origins.count('model')} of {len(origins)} points"
    assert expected in result.stdout + result.stderr
    report = io.StringIO()
    Report.write_report(str(output), out=report, plots=False)
    assert expected in report.getvalue()
