"""The tests' own Spark session: its queries run without generated Java code, unless asked."""

from __future__ import annotations

import pytest

from .conftest import NO_GENERATED_CODE, code_generation

pytestmark = pytest.mark.spark


def top_of_plan(spark) -> str:
    """Class of the top node of a small query's physical plan (``WholeStageCodegenExec``
    when Spark compiles the query into generated code)."""
    frame = spark.range(10).selectExpr("id * 2 AS doubled").where("doubled > 4")
    return frame._jdf.queryExecution().executedPlan().getClass().getSimpleName()


def factory_mode(spark) -> str:
    """How the session evaluates expressions: ``FALLBACK`` (generated code first),
    ``NO_CODEGEN`` (interpreted) or ``CODEGEN_ONLY``, as Spark's own conf object reads it."""
    return spark._jsparkSession.sessionState().conf().codegenFactoryMode().toString()


def test_the_test_session_evaluates_queries_without_generated_code(spark):
    sql_conf = spark._jvm.org.apache.spark.sql.internal.SQLConf
    # Both keys are settings this Spark version knows (an unknown key would be ignored).
    assert {sql_conf.WHOLESTAGE_CODEGEN_ENABLED().key(), sql_conf.CODEGEN_FACTORY_MODE().key()} == (
        set(NO_GENERATED_CODE)
    )
    assert top_of_plan(spark) != "WholeStageCodegenExec"
    assert factory_mode(spark) == "NO_CODEGEN"


def test_code_generation_is_on_inside_the_block_and_off_after_it_even_on_error(spark):
    with pytest.raises(RuntimeError, match="inside"), code_generation(spark):
        assert (top_of_plan(spark), factory_mode(spark)) == ("WholeStageCodegenExec", "FALLBACK")
        raise RuntimeError("inside")
    assert top_of_plan(spark) != "WholeStageCodegenExec"
    assert factory_mode(spark) == "NO_CODEGEN"
