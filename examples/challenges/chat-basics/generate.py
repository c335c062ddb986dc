"""Regenerate this example bundle's data (seeded, so the files are reproducible).

Each item is a chat, in one of the two shapes the interactive protocol sends: "messages" (one
request, sometimes with a system message or an earlier exchange) or "turns" (a conversation of
two or three user turns; the last answer is scored). Items ask for a small sum, difference or
product, for the capital of a European country, or for the name the user gave earlier. A few items
are beyond the example model on purpose (a division, capitals it does not know). The last items
offer a get_weather tool and script its results: the model calls it, and answers with what it said.
"""

import json
import random
from pathlib import Path

HERE = Path(__file__).parent

KNOWN_CAPITALS = {
    "Austria": "Vienna",
    "Belgium": "Brussels",
    "Czechia": "Prague",
    "Denmark": "Copenhagen",
    "Finland": "Helsinki",
    "France": "Paris",
    "Germany": "Berlin",
    "Greece": "Athens",
    "Hungary": "Budapest",
    "Ireland": "Dublin",
    "Italy": "Rome",
    "the Netherlands": "Amsterdam",
    "Norway": "Oslo",
    "Poland": "Warsaw",
    "Portugal": "Lisbon",
    "Spain": "Madrid",
    "Sweden": "Stockholm",
}
UNKNOWN_CAPITALS = {"Iceland": "Reykjavik", "Estonia": "Tallinn"}  # the example model misses these
NAMES = [
    "Ada",
    "Grace",
    "Alan",
    "Linus",
    "Marie",
    "Niels",
    "Lise",
    "Enrico",
    "Emmy",
    "Kurt",
    "Hedy",
    "Tim",
    "Margaret",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "John",
    "Radia",
    "Sophie",
    "Tove",
    "Jan",
    "Olga",
    "Pieter",
    "Ines",
]
SYSTEMS = ["You are a concise assistant. Answer with the answer alone.", "Reply in as few words as possible."]
GREETINGS = ["Hello!", "Hi there.", "Good morning!"]
ASK_NAME = ["What is my name?", "What's my name?", "Do you remember? What is my name?"]


def user(text: str) -> dict:
    return {"role": "user", "content": text}


def single(rng: random.Random, question: str) -> dict:
    """One question, as a request with or without a system message, or as a one-turn chat."""
    shape = rng.choice(["messages", "system", "turns"])
    if shape == "turns":
        return {"turns": [question]}
    system = [{"role": "system", "content": rng.choice(SYSTEMS)}] if shape == "system" else []
    return {"messages": [*system, user(question)]}


def arithmetic(rng: random.Random) -> tuple[dict, str]:
    operation = rng.choice("+-*")
    high = 20 if operation == "*" else 99
    left, right = rng.randint(2, high), rng.randint(2, high)
    value = {"+": left + right, "-": left - right, "*": left * right}[operation]
    return single(rng, f"What is {left} {operation} {right}?"), str(value)


def capital(rng: random.Random, country: str, city: str) -> tuple[dict, str]:
    return single(rng, f"What is the capital of {country}?"), city


def recall_turns(rng: random.Random, name: str) -> tuple[dict, str]:
    """Two or three turns: the user gives a name, maybe says something else, then asks for it."""
    middle = rng.choice(
        [
            None,
            rng.choice(GREETINGS),
            f"What is {rng.randint(2, 9)} + {rng.randint(2, 9)}?",
            f"What is the capital of {rng.choice(sorted(KNOWN_CAPITALS))}?",
        ]
    )
    introduce = rng.choice([f"My name is {name}.", f"Hi, my name is {name}."])
    turns = [introduce, *([middle] if middle else []), rng.choice(ASK_NAME)]
    value: dict = {"turns": turns}
    if rng.random() < 0.3:
        value["system"] = rng.choice(SYSTEMS)
    return value, name


def recall_messages(rng: random.Random, name: str) -> tuple[dict, str]:
    """One request whose history holds the name: an earlier exchange, or the system message."""
    if rng.random() < 0.5:
        return {
            "messages": [
                user(f"My name is {name}."),
                {"role": "assistant", "content": f"Nice to meet you, {name}."},
                user(rng.choice(ASK_NAME)),
            ]
        }, name
    return {
        "messages": [{"role": "system", "content": f"The user's name is {name}."}, user(rng.choice(ASK_NAME))]
    }, name


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Today's weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def weather(rng: random.Random, city: str) -> tuple[dict, str]:
    """An agent-style item: the get_weather tool is offered, and the item scripts its result."""
    report = f"{rng.randint(4, 31)} degrees and {rng.choice(['sunny', 'cloudy', 'rainy', 'windy'])}"
    return {
        "messages": [user(f"What is the weather in {city} today?")],
        "tools": [WEATHER_TOOL],
        "tool_results": [{"name": "get_weather", "arguments": {"city": city}, "result": report}],
    }, report


def weather_rows(rng: random.Random, count: int) -> list[tuple[dict, str]]:
    return [weather(rng, city) for city in rng.sample(sorted(KNOWN_CAPITALS.values()), count)]


def hidden_rows(rng: random.Random) -> list[tuple[dict, str]]:
    names = rng.sample(NAMES, 23)
    countries = rng.sample(sorted(KNOWN_CAPITALS), 14)
    rows = [arithmetic(rng) for _ in range(20)]
    rows.append((single(rng, "What is 84 / 7?"), "12"))  # the example model cannot divide
    rows += [capital(rng, c, KNOWN_CAPITALS[c]) for c in countries]
    rows += [capital(rng, c, city) for c, city in UNKNOWN_CAPITALS.items()]
    rows += [recall_turns(rng, n) for n in names[:18]]
    rows += [recall_messages(rng, n) for n in names[18:]]
    rng.shuffle(rows)
    return rows


def sample_rows(rng: random.Random) -> list[tuple[dict, str]]:
    names = rng.sample(NAMES, 3)
    countries = rng.sample(sorted(KNOWN_CAPITALS), 2)
    rows = [arithmetic(rng) for _ in range(3)]
    rows += [capital(rng, c, KNOWN_CAPITALS[c]) for c in countries]
    rows += [recall_turns(rng, n) for n in names[:2]] + [recall_messages(rng, names[2])]
    rng.shuffle(rows)
    return rows


def write(folder: Path, rows: list[tuple[dict, str]], prefix: str) -> None:
    folder.mkdir(exist_ok=True)
    ids = [f"{prefix}{index:04d}" for index in range(1, len(rows) + 1)]
    with (folder / "inputs.jsonl").open("w") as out:
        for item_id, (value, _) in zip(ids, rows, strict=True):
            out.write(json.dumps({"id": item_id, "input": value}) + "\n")
    with (folder / "labels.jsonl").open("w") as out:
        for item_id, (_, label) in zip(ids, rows, strict=True):
            out.write(json.dumps({"id": item_id, "label": label}) + "\n")


def main() -> None:
    rng = random.Random(20261202)
    hidden, sample = hidden_rows(rng), sample_rows(rng)
    tools = random.Random(20261203)  # its own stream: the earlier items stay as they were
    write(HERE, hidden + weather_rows(tools, 6), "c")
    write(HERE / "sample", sample + weather_rows(tools, 1), "s")


if __name__ == "__main__":
    main()
