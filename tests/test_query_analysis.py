"""Clauses and pieces of joined multi-hop questions (service.query_analysis)."""

from __future__ import annotations

from datetime import date

from service.query_analysis import QueryAnalyzer, question_pieces, split_clauses


def test_joined_questions_are_cut_at_their_connectives() -> None:
    assert split_clauses(
        "Does the Sportskeeda article consider Malik Willis the most gifted quarterback, "
        "while The New York Times article focuses on the 49ers' use of a draft pick on a kicker?"
    ) == [
        "Does the Sportskeeda article consider Malik Willis the most gifted quarterback",
        "The New York Times article focuses on the 49ers' use of a draft pick on a kicker",
    ]
    assert split_clauses(
        "Did the TechCrunch report on Google's search deals and the Verge article on app stores agree?"
    ) == ["Did the TechCrunch report on Google's search deals", "the Verge article on app stores agree"]
    assert split_clauses("Fortune covered the FTX trial; Wired covered the Google antitrust case.") == [
        "Fortune covered the FTX trial",
        "Wired covered the Google antitrust case",
    ]
    assert split_clauses(
        "Which company is named in both reports: the one on search payments or the one on ad revenue?"
    ) == ["Which company is named in both reports", "the one on search payments", "the one on ad revenue"]


def test_short_pieces_stay_with_a_neighbour_and_one_clause_is_no_split() -> None:
    # "Did 'Eos" has too few words to be a clause: it stays with what follows; "Wired did not"
    # joins the clause before it, leaving a single clause, which is no split at all.
    assert split_clauses(
        "Did 'Eos: Earth And Space Science News' report on income gaps, while Wired reported rents?"
    ) == [
        "Did 'Eos Earth And Space Science News' report on income gaps",
        "Wired reported rents",
    ]
    assert split_clauses("Did Eos report on income gaps, while Wired did not?") == []
    assert split_clauses("Who took over the Quds Force after Soleimani was killed?") == []
    assert split_clauses("Tom and Jerry") == []
    assert split_clauses("") == []


def test_analysis_carries_the_clauses() -> None:
    analyzer = QueryAnalyzer(["TechCrunch", "The Verge"], [], [date(2023, 10, 5)])
    found = analyzer.analyze(
        "Does TechCrunch report layoffs at Google, while The Verge reports hiring at Apple?"
    )
    assert found.clauses == ["Does TechCrunch report layoffs at Google", "The Verge reports hiring at Apple"]
    assert analyzer.analyze("What did TechCrunch report?").clauses == []


def test_question_pieces_are_the_clauses_then_their_comma_separated_parts() -> None:
    query = (
        "Which company, noted by TechCrunch for its increased responsiveness to consumer feedback, "
        "is also mentioned by The Verge for enforcing uniform terms on developers?"
    )
    assert question_pieces(query, []) == [
        query,
        "noted by TechCrunch for its increased responsiveness to consumer feedback",
        "is also mentioned by The Verge for enforcing uniform terms on developers",
    ]  # "Which company" has too few content words to be a piece
    clauses = ["Did Fortune report the verdict, citing jurors", "Wired covered the appeal"]
    assert question_pieces("ignored when there are clauses", clauses) == [
        *clauses,
        "Did Fortune report the verdict",
    ]  # "citing jurors" is too short; a clause without a comma adds nothing


def test_named_outlets_and_authors_are_blanked_out_for_reading_time() -> None:
    outlet = "Business Today | Latest Stock Market And Economy News India"
    analyzer = QueryAnalyzer([outlet, "Fortune"], ["May Bulman"], [date(2023, 10, 7)])
    question = f"What did {outlet} and May Bulman report about Israel today?"
    found = analyzer.analyze(question)
    assert [o.name for o in found.outlets] == [outlet] and found.authors == ["May Bulman"]
    masked = found.without_names(question)
    assert len(masked) == len(question)
    assert "Today" not in masked and "Latest" not in masked and "May" not in masked
    assert masked.split() == ["What", "did", "and", "report", "about", "Israel", "today?"]
    # a name only counts written capitalised, as recognised: the lower-case "today" is kept
    lower = "What did Fortune report today?"
    assert analyzer.analyze(lower).without_names(lower) == "What did         report today?"
