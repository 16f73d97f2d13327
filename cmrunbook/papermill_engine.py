"""A papermill engine that writes the executed notebook once, when the run ends.

papermill's own engine rewrites (and re-validates) the whole output notebook before and after
every cell; with a big campaign's tables in the outputs that costs more than the cells
themselves, and it sits between every two cells. The run's record is the same: the notebook is
written when the run ends, failed or not (papermill then adds its error banner and writes it
again), and a run that hangs is stopped by the runner's time limit, after which the notebook is
written too.
"""

from __future__ import annotations

from typing import Any

from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

ENGINE_NAME = "cmrunbook"


class _FinalSaveManager(NotebookExecutionManager):  # type: ignore[misc]
    def save(self, **kwargs: Any) -> None:
        if self.end_time is not None:  # set by notebook_complete, which always runs last
            super().save(**kwargs)


class FinalSaveEngine(NBClientEngine):  # type: ignore[misc]
    """papermill's nbclient engine, with the notebook written at the end of the run only."""

    @classmethod
    def execute_notebook(
        cls,
        nb: Any,
        kernel_name: str,
        output_path: str | None = None,
        progress_bar: bool = True,
        log_output: bool = False,
        autosave_cell_every: int = 30,
        **kwargs: Any,
    ) -> Any:
        manager = _FinalSaveManager(
            nb,
            output_path=output_path,
            progress_bar=progress_bar,
            log_output=log_output,
            autosave_cell_every=autosave_cell_every,
        )
        manager.notebook_start()
        try:
            cls.execute_managed_notebook(manager, kernel_name, log_output=log_output, **kwargs)
        finally:
            manager.cleanup_pbar()
            manager.notebook_complete()
        return manager.nb


papermill_engines.register(ENGINE_NAME, FinalSaveEngine)
