"""Comment screening on one core: `python -m tests.bench.screening [--comments 20000] [--seed 7]`.

A generated register of 2,000 pupils and 150 staff (deterministic random names from the lists
below, in 70 classes), the default abusive list and the default banned and suspect lists, over a
corpus of the labelled comments (tests/moderation/labelled_comments.csv) and generated ones of
100-400 characters (praise, questions, a name in one in four, a phone number, a link or a
postcode now and then, a complaint in one in ten). One process, one thread: the figure is
comments per second on one core (by the wall clock, and per second of CPU time, which a busy
machine does not shrink), with p50 and p99 microseconds per comment; of three passes over the
corpus the fastest is shown (on a shared machine the others measure the neighbours). Building the
screener is timed apart. Prints figures only; see docs/performance.md, "Screening comments".
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import time
from pathlib import Path

from portal.moderation.screening import (
    DEFAULT_BANNED,
    DEFAULT_SUSPECT,
    RegisterName,
    Screener,
)


def _words(line: str) -> tuple[str, ...]:
    return tuple(line.split())


LABELLED = Path(__file__).resolve().parents[1] / "moderation" / "labelled_comments.csv"
FIRST_NAMES = _words(
    "Olivia Amelia Isla Ava Mia Ivy Lily Isabella Rosie Sophia Grace Willow Freya Florence Emily "
    "Ella Poppy Evie Elsie Charlotte Evelyn Sienna Sofia Daisy Phoebe Sophie Alice Harper Matilda "
    "Ruby Emilia Maya Millie Isabelle Eva Luna Jessica Esme Arabella Zara Hallie Ada Aria Imogen "
    "Muhammad Noah Oliver George Leo Arthur Oscar Harry Archie Jack Henry Charlie Freddie Theodore "
    "Thomas Finley Theo Alfie Jacob Ethan Isaac Tommy Joshua Roman William Lucas Mason Edward "
    "Samuel Harrison Teddy Albie Reggie Hugo Louie Jaxon Ronnie Elijah Max Ezra Arlo Harley "
    "Benjamin Daniel Dylan Aaron Ibrahim Yusuf Zain Ayaan Omar Priya Aisha Fatima Amara Chidi "
    "Kwame Tobi Ngozi Mei Wei Hiroshi Aleksander Zofia Oskar Niamh Siobhan Ciaran Rhys Cerys Dewi"
)
LAST_NAMES = _words(
    "Smith Jones Williams Taylor Davies Evans Thomas Johnson Roberts Walker Wright Robinson "
    "Thompson White Hughes Edwards Green Hall Wood Harris Lewis Martin Jackson Clarke Clark "
    "Turner Hill Scott Cooper Morris Ward Moore King Watson Baker Harrison Morgan Patel Young "
    "Allen Mitchell James Anderson Phillips Lee Bell Parker Davis Okafor Mensah Adeyemi Khan "
    "Hussain Ahmed Ali Begum Rahman Chowdhury Singh Kaur Sharma Nowak Kowalski Murphy Kelly "
    "O'Brien Byrne Doyle Campbell Stewart Reid Murray Fraser Bennett Price Shaw Holmes Lloyd "
    "Marshall Ellis Fox Webb Rogers Gray Mills Hunt Palmer Knight Butler Barnes Fisher Mason"
)
CLASSES = ("Oak", "Ash", "Elm", "Beech", "Birch", "Rowan", "Hazel", "Willow", "Cedar", "Maple")
YEARS = ("Reception", *(f"Year {n}" for n in range(1, 7)))
ROLES = ("Class teacher", "Teaching assistant", "Office staff", "Lunchtime supervisor")

OPENINGS = (
    "What a lovely morning at the {event}!",
    "Thank you to everyone who helped with the {event}.",
    "Could you tell us what time the {event} finishes on Friday?",
    "The children had a brilliant time at the {event}, well done all.",
    "Is there a list of what the children need to bring for the {event}?",
    "Really enjoyed the {event} this year, the new format worked well.",
)
MIDDLES = (
    "My daughter has not stopped talking about it since she got home.",
    "The weather held out and the field looked amazing.",
    "Will there be photos on the website afterwards?",
    "We were a bit worried about parking but it was fine in the end.",
    "The staff clearly put a lot of work into the planning.",
    "Is it still okay to send a packed lunch on the day?",
    "The new menu looks good, although my son is not sure about the fish pie.",
    "Please can we have a reminder the week before next time.",
)
EVENTS = ("sports day", "trip to the farm", "summer concert", "harvest festival", "book week")
EXTRAS = (
    "{first} from {year} was a star in the relay.",
    "Please pass our thanks to Mrs {last}.",
    "{first} {last} did so well in the egg and spoon race.",
    "Ring me on 07700 900{n:03d} if you need a hand next time.",
    "There are more pictures on www.example.com/gallery if anyone wants them.",
    "We live near BS8 {n:1d}AB so can give lifts.",
    "This is unacceptable, nobody listens and I want to complain to the head.",
    "My son was bullied again and nothing was done about the bullying.",
)


def register(rng: random.Random) -> list[RegisterName]:
    names = []
    for n in range(2_000):
        where = f"{YEARS[n % len(YEARS)]}, {CLASSES[n % len(CLASSES)]} class"
        names.append(RegisterName(rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), "pupil", where))
    for _ in range(150):
        names.append(
            RegisterName(
                rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), "staff", rng.choice(ROLES)
            )
        )
    return names


def corpus(rng: random.Random, people: list[RegisterName], size: int) -> list[str]:
    labelled = []
    if LABELLED.exists():
        with LABELLED.open(encoding="utf-8", newline="") as handle:
            labelled = [row["text"] for row in csv.DictReader(handle)]
    comments = []
    while len(comments) < size:
        if labelled and rng.random() < 0.2:
            comments.append(rng.choice(labelled))
            continue
        text = rng.choice(OPENINGS).format(event=rng.choice(EVENTS))
        while len(text) < rng.randint(100, 400):
            text += " " + rng.choice(MIDDLES)
        if rng.random() < 0.35:
            person = rng.choice(people)
            extra = rng.choice(EXTRAS[:3] if rng.random() < 0.7 else EXTRAS)
            text += " " + extra.format(
                first=person.first,
                last=person.last,
                year=person.where.split(",")[0],
                n=rng.randint(0, 999),
            )
        comments.append(text)
    return comments


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.screening")
    parser.add_argument("--comments", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--repeat", type=int, default=3, help="passes over the corpus; the fastest is shown"
    )
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    people = register(rng)
    started = time.perf_counter()
    screener = Screener(people, banned=DEFAULT_BANNED, suspect=DEFAULT_SUSPECT)
    built = time.perf_counter() - started
    comments = corpus(rng, people, args.comments)
    for text in comments[:500]:  # warm the fuzzy cache as a running portal would be
        screener.screen(text)
    best: tuple[float, float, list[int]] | None = None
    flagged = 0
    clock = time.perf_counter_ns
    for _ in range(args.repeat):
        timings = []
        flagged = 0
        cpu_started = time.process_time()
        started = time.perf_counter()
        for text in comments:
            before = clock()
            result = screener.screen(text)
            timings.append(clock() - before)
            flagged += bool(result.flags)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        if best is None or elapsed < best[0]:
            best = (elapsed, cpu, timings)
    assert best is not None
    elapsed, cpu, timings = best
    timings.sort()
    mean_chars = statistics.fmean(len(text) for text in comments)
    print(f"register: {len(people):,} names; screener built in {built * 1000:.0f} ms")
    print(
        f"comments: {len(comments):,} (mean {mean_chars:.0f} characters), "
        f"{flagged:,} with at least one flag"
    )
    print(
        f"comments per second (one core): {len(comments) / elapsed:,.0f} by the wall clock, "
        f"{len(comments) / cpu:,.0f} per second of CPU time (the same unless the machine is busy)"
    )
    print(
        f"per comment: p50 {timings[len(timings) // 2] / 1000:.0f} µs, "
        f"p99 {timings[int(len(timings) * 0.99)] / 1000:.0f} µs, "
        f"max {timings[-1] / 1000:.0f} µs"
    )


if __name__ == "__main__":
    main()
