/** Notebooks the panel writes into: the dataset's code, a job's comparison. */

import { JupyterFrontEnd } from '@jupyterlab/application';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';

import { comparisonCells, openDatasetCode } from './codegen';
import { dirname, toServerPath } from './paths';
import type { IJobRecord } from './types.gen';

/** A new notebook in folder `cwd` (relative to the server root), ready for cells. */
async function newNotebook(app: JupyterFrontEnd, cwd: string): Promise<NotebookPanel> {
  const panel = (await app.commands.execute('notebook:create-new', {
    cwd,
    kernelName: 'python3'
  })) as NotebookPanel;
  await panel.context.ready;
  await panel.revealed; // the content model is built: cells put in now stay
  return panel;
}

/** Put `sources` in a fresh notebook's cells (the first replaces its empty cell). */
function fill(panel: NotebookPanel, sources: string[]): void {
  const model = panel.content.model;
  if (!model) {
    return;
  }
  model.sharedModel.transact(() => {
    model.sharedModel.deleteCellRange(0, model.sharedModel.cells.length);
    model.sharedModel.insertCells(
      0,
      sources.map(source => ({ cell_type: 'code', source, metadata: {} }))
    );
  });
}

/**
 * Code that opens the dataset: a cell below the active one of the current notebook (its
 * path made relative to the notebook's folder), or a new notebook beside the dataset.
 */
export async function insertDatasetCode(
  app: JupyterFrontEnd,
  tracker: INotebookTracker | null,
  path: string,
  options: { newNotebook?: boolean } = {}
): Promise<NotebookPanel> {
  const current = options.newNotebook ? null : tracker?.currentWidget ?? null;
  if (current) {
    await current.context.ready;
    const code = openDatasetCode(path, dirname(current.context.localPath));
    const notebook = current.content;
    NotebookActions.insertBelow(notebook);
    notebook.activeCell?.model.sharedModel.setSource(code);
    app.shell.activateById(current.id);
    return current;
  }
  const cwd = dirname(path);
  const panel = await newNotebook(app, cwd === '/' ? '' : cwd);
  fill(panel, [openDatasetCode(path, cwd)]);
  return panel;
}

/**
 * A new notebook comparing a completed job's input and output (`viz.compare`), placed
 * beside the output when it lies under the server root, and run.
 */
export async function openComparison(
  app: JupyterFrontEnd,
  record: IJobRecord,
  serverRoot: string
): Promise<NotebookPanel> {
  const cells = comparisonCells(record);
  const output = record.artifacts['output'];
  // a relative output is relative to the submitting kernel's folder, unknown here
  const where =
    typeof output === 'string' && output.startsWith('/') ? toServerPath(output, serverRoot) : null;
  const panel = await newNotebook(app, where ? dirname(where) : '');
  fill(panel, cells);
  await panel.sessionContext.ready;
  await NotebookActions.runAll(panel.content, panel.sessionContext);
  return panel;
}
