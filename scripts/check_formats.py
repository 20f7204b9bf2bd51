#!/usr/bin/env python3
"""Checks that pagelab's KTAP and JUnit reports say what its JSON says, as read by
consumers pagelab does not control: the kernel's own KTAP parser (kunit.py parse) and
junitparser. For `check` (claims) and `exercise` (exercises), per lesson and in total.

usage: check_formats.py KUNIT_PY PAGELAB [ARGS...]   (PAGELAB is the command to run)
"""

import json
import subprocess
import sys
import tempfile

from junitparser import Error, Failure, JUnitXml, Skipped

ENDS = ("held", "failed", "skipped")


def run(command):
    # Exit status 1 means a claim failed: the counts still have to agree.
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr}")
    return done.stdout


def from_claims_json(text):
    lessons = json.loads(text)["lessons"]
    return {l["id"]: tally(claim_ends(l)) for l in lessons}


def claim_ends(lesson):
    # A lesson's problems (its experiment stopped, a core rule undecided) are one case more
    # in KTAP and JUnit, failed: "the lesson as a whole".
    ends = [c["verdict"] for c in lesson["claims"]]
    if lesson.get("error") or lesson.get("core_problems"):
        ends.append("failed")
    return ends


def from_exercises_json(text):
    word = {"done": "held", "skipped": "skipped"}
    counts = {}
    for e in json.loads(text)["exercises"]:
        counts.setdefault(e["lesson"], []).append(word.get(e["outcome"], "failed"))
    return {lesson: tally(ends) for lesson, ends in counts.items()}


def tally(ends):
    counts = dict.fromkeys(ENDS, 0)
    for end in ends:
        counts[end] += 1
    return counts


def from_ktap(kunit, text):
    word = {"PASS": "held", "FAIL": "failed", "SKIP": "skipped"}
    with tempfile.TemporaryDirectory() as tmp:
        ktap, parsed = f"{tmp}/results.ktap", f"{tmp}/results.json"
        with open(ktap, "w") as f:
            f.write(text)
        subprocess.run(
            [sys.executable, kunit, "parse", f"--json={parsed}", ktap],
            capture_output=True,
            text=True,
        )
        with open(parsed) as f:
            main = json.load(f)
    suites = {}
    for group in main["sub_groups"]:
        statuses = [case["status"] for case in group["test_cases"]]
        unknown = [s for s in statuses if s not in word]
        if unknown:
            sys.exit(f"kunit.py read {group['name']} cases as {unknown}")
        suites[group["name"]] = tally(word[s] for s in statuses)
    return suites


def from_junit(text):
    with tempfile.NamedTemporaryFile("w", suffix=".xml") as f:
        f.write(text)
        f.flush()
        xml = JUnitXml.fromfile(f.name)
    suites = {}
    for suite in xml:
        ends = []
        for case in suite:
            kinds = {type(r) for r in case.result}
            if kinds & {Failure, Error}:
                ends.append("failed")
            elif Skipped in kinds:
                ends.append("skipped")
            else:
                ends.append("held")
        suites[suite.name] = tally(ends)
    return suites


def compare(what, truth, readings):
    ok = True
    for reader, counts in readings.items():
        if counts != truth:
            ok = False
            for lesson in sorted(set(truth) | set(counts)):
                if truth.get(lesson) != counts.get(lesson):
                    print(f"  {what}: {reader} reads {lesson} as {counts.get(lesson)}, "
                          f"the JSON says {truth.get(lesson)}")
    total = tally([])
    for counts in truth.values():
        for end in ENDS:
            total[end] += counts[end]
    verdict = "agree" if ok else "DISAGREE"
    print(f"{what}: JSON, kunit.py and junitparser {verdict}: "
          f"{len(truth)} lessons, {total['held']} held, {total['failed']} failed, "
          f"{total['skipped']} skipped")
    return ok


def main():
    kunit, pagelab = sys.argv[1], sys.argv[2:]
    ok = True
    for command, from_json in (("check", from_claims_json), ("exercise", from_exercises_json)):
        truth = from_json(run(pagelab + [command, "--format", "json"]))
        readings = {
            "kunit.py": from_ktap(kunit, run(pagelab + [command, "--format", "ktap"])),
            "junitparser": from_junit(run(pagelab + [command, "--format", "junit"])),
        }
        ok &= compare(command, truth, readings)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
