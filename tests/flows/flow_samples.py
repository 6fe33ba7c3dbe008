"""Flow folders that several test modules run: an llm question-answering flow and its grader.

Pass them to the ``write_flow`` fixture: ``write_flow("qa", QA_FLOW)``.
"""

from __future__ import annotations

QA_FLOW = {  # the llm node "chat" answers, the python node "tidy" trims its answer
    "flow.yaml": """
        inputs:
          question: {type: string}
        outputs:
          answer: {type: string, reference: "${tidy.output}"}
        nodes:
        - name: chat
          type: llm
          source: {type: code, path: chat.jinja2}
          connection: llm
          inputs: {model: gpt-4o-mini, max_tokens: 16, question: "${inputs.question}"}
        - name: tidy
          type: python
          source: {type: code, path: tidy.py}
          inputs: {text: "${chat.output}"}
    """,
    "chat.jinja2": """
        # system:
        Answer with one word.
        # user:
        {{ question }}
    """,
    "tidy.py": """
        from headrace.flows import tool


        @tool
        def tidy(text: str) -> str:
            return text.strip().rstrip(".")
    """,
}

EVAL_FLOW = {  # an evaluation flow: "grade" compares per line, "accuracy" aggregates
    "flow.yaml": """
        type: evaluation
        inputs:
          answer: {type: string}
          truth: {type: string}
        outputs:
          correct: {type: bool, reference: "${grade.output}"}
        nodes:
        - name: grade
          type: python
          source: {type: code, path: grade.py}
          inputs: {answer: "${inputs.answer}", truth: "${inputs.truth}"}
        - name: accuracy
          type: python
          source: {type: code, path: accuracy.py}
          aggregation: true
          inputs: {grades: "${grade.output}"}
    """,
    "grade.py": """
        from headrace.flows import tool


        @tool
        def grade(answer: str, truth: str) -> bool:
            return answer.strip().lower() == truth.strip().lower()
    """,
    "accuracy.py": """
        from headrace.flows import log_metric, tool


        @tool
        def accuracy(grades: list) -> float:
            value = sum(grades) / len(grades)
            log_metric("accuracy", value)
            log_metric("graded", len(grades))
            return value
    """,
}
