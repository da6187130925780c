"""A topic's contract and suite as a run sees them, or why its semantic layer cannot run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from spark_jobs.config.contract import DEFAULT_MAX_EVENT_TS_AHEAD_MINUTES, TopicContract, load_contract
from spark_jobs.config.curated_bounds import CuratedBounds
from spark_jobs.config.job_args import JobArgs
from spark_jobs.config.suite import TopicSuite, load_suite
from spark_jobs.exceptions import ContractError
from spark_jobs.faults import maybe_fail
from spark_jobs.interface import CheckpointMode
from spark_jobs.tables import TopicTables

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@dataclass(frozen=True)
class TopicConfig:
    """The contract and suite, or why the semantic layer cannot run (``problem``)."""

    contract: TopicContract | None
    suite: TopicSuite | None
    problem: str | None

    def mode(self, args: JobArgs) -> CheckpointMode:
        """The run's checkpoint mode: the option, else the contract's, else tiered."""
        return args.checkpoint_mode or (self.contract.checkpoint_mode if self.contract else "tiered")

    @property
    def message_id_lookback_days(self) -> int:
        return self.contract.message_id_lookback_days if self.contract else 7

    @property
    def max_event_ts_ahead_minutes(self) -> int:
        return self.contract.max_event_ts_ahead_minutes if self.contract else DEFAULT_MAX_EVENT_TS_AHEAD_MINUTES

    @property
    def curated_bounds(self) -> CuratedBounds:
        return self.contract.curated if self.contract else CuratedBounds()


def load_topic_config(spark: SparkSession, args: JobArgs) -> TopicConfig:
    """Load and check the contract and suite; a problem is returned, not raised (curated
    needs no schema: the run goes on without the semantic layer)."""
    from spark_jobs.semantic.type_changes import check_type_changes  # reads the semantic table's schema

    maybe_fail("loading_config")
    try:
        contract = load_contract(args.contract_uri)
        suite = load_suite(args.suite_uri, contract)
    except ContractError as exc:
        return TopicConfig(None, None, str(exc))
    if contract.topic != args.topic:
        return TopicConfig(None, None, f"{args.contract_uri}: topic {contract.topic!r} is not {args.topic!r}")
    # A type change the semantic table cannot take refuses that layer before either is
    # written. The contract itself is valid: it still sets the mode, bounds and look-back.
    refused = check_type_changes(spark, TopicTables(args.topic).semantic, contract).problem
    if refused:
        return TopicConfig(contract, None, refused)
    return TopicConfig(contract, suite, None)
