"""Throughput and memory benchmark of quoting: ``make bench`` (``python -m bench --help``).

One table, every figure beside a baseline measured in the same run, the median of interleaved
rounds (ratios per round, with their spread), on the coffee-shop programme with a 5-line
basket and a gold member:

* full quotes/s through ``Evaluator(matcher="durable")`` and ``Evaluator(matcher="python")``;
* ``matcher.match``/s of both matchers, so the pricing code's share is visible;
* A: durable-rules driven raw with the adapter's ruleset and payload (``raw_durable``);
  A': the same sessions driven through durable-rules' C calls only;
* B: the coffee-shop rules and pricing written by hand (``handwritten``);
* RSS before and after N durable quotes.

Every path is checked to compute the same matches and quote before anything is timed
(``checks``).
"""
