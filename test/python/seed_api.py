"""The seed document's Python API (apis/training_db), as its "Implementation" section writes it.

Standard library only. `insert_objective` and `update_objective_metric` are the seed's code verbatim.
The seed shows only the calls of `insert_run`, `update_run_status`, `query_runs` and the SQL of
`query_runs_by_objectives` (whose body is `pass`); they are written here the plain way those calls and that
SQL imply. The seed's `_get_connection()` and `DB_PATH` are not shown either: DB_PATH comes from the
environment (TRAINDB_DB_PATH). Nothing here knows about traindb: that is the point.
"""

import json
import os
import sqlite3

DB_PATH = os.environ.get("TRAINDB_DB_PATH", "traindb.sqlite")


def _get_connection():
    conn = sqlite3.connect(DB_PATH)
    conn.row_factory = sqlite3.Row
    return conn


def insert_run(run_id: str, wandb_run_id=None, config_dict=None, **hyperparams):
    """Insert a run at launch: full config in config_json, extracted hyperparameters in their columns."""
    columns = ["run_id", "wandb_run_id", "config_json"] + list(hyperparams)
    values = [run_id, wandb_run_id, json.dumps(config_dict or {})] + list(hyperparams.values())
    conn = _get_connection()
    conn.execute(
        f"INSERT INTO training_runs ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
        values,
    )
    conn.commit()


def update_run_status(run_id: str, status: str, final_metrics_json=None, **metrics):
    """Update a run on completion: status, the whole W&B summary, and the extracted final metrics."""
    sets = {"status": status, **metrics}
    if final_metrics_json is not None:
        sets["final_metrics_json"] = json.dumps(final_metrics_json)
    conn = _get_connection()
    conn.execute(
        f"UPDATE training_runs SET {', '.join(f'{c} = ?' for c in sets)} WHERE run_id = ?",
        list(sets.values()) + [run_id],
    )
    conn.commit()


def insert_objective(run_id: str, objective_name: str, **kwargs):
    """Insert objective configuration at launch"""
    conn = _get_connection()
    conn.execute("""
        INSERT INTO run_objectives (
            run_id, objective_name, objective_alias, uniprot,
            weight, direction
        ) VALUES (?, ?, ?, ?, ?, ?)
    """, (
        run_id,
        objective_name,
        kwargs.get('objective_alias'),
        kwargs.get('uniprot'),
        kwargs.get('weight'),
        kwargs.get('direction')
    ))
    conn.commit()


def update_objective_metric(run_id: str, objective_name: str,
                            metric_type: str, value: float):
    """Update objective final value from W&B summary"""
    conn = _get_connection()

    # Map metric_type to column
    column_map = {
        'raw_mean': 'raw_mean',
        'normalized_mean': 'normalized_mean',
        'raw_std': 'raw_std',
        'normalized_std': 'normalized_std'
    }

    if metric_type not in column_map:
        return

    column = column_map[metric_type]
    conn.execute(f"""
        UPDATE run_objectives
        SET {column} = ?
        WHERE run_id = ? AND objective_name = ?
    """, (value, run_id, objective_name))
    conn.commit()


def _run_conditions(filters: dict):
    """The seed's filter convention: `column: value` is equality, `min_<column>` is >=, `max_<column>` is <=."""
    where, params = [], []
    for key, value in filters.items():
        if key.startswith("min_"):
            where.append(f"r.{key[4:]} >= ?")
        elif key.startswith("max_"):
            where.append(f"r.{key[4:]} <= ?")
        else:
            where.append(f"r.{key} = ?")
        params.append(value)
    return where, params


def query_runs(filters: dict = None):
    """query_runs(filters={'gradient_method': 'mgda', 'min_batch_size': 64, 'status': 'completed'})"""
    where, params = _run_conditions(filters or {})
    sql = "SELECT r.* FROM training_runs r" + (" WHERE " + " AND ".join(where) if where else "")
    conn = _get_connection()
    return [dict(row) for row in conn.execute(sql, params).fetchall()]


def query_runs_by_objectives(objective_filters: dict, **kwargs):
    """
    Query runs by objective thresholds

    Example:
        query_runs_by_objectives({
            'COMT_activity': {'min': 0.8, 'max': 1.0},
            'DRD5_activity': {'min': 0.7}
        }, status='completed')
    """
    # Build SQL with JOIN per objective (the seed's "SQL implementation"); as in the seed's own example,
    # a non-dict entry such as 'status': 'completed' is a run filter.
    joins, where, params = [], [], []
    run_filters = dict(kwargs)
    for i, (name, bounds) in enumerate(objective_filters.items()):
        if not isinstance(bounds, dict):
            run_filters[name] = bounds
            continue
        o = f"o{i}"
        joins.append(f"JOIN run_objectives {o} ON r.run_id = {o}.run_id")
        where.append(f"{o}.objective_name = ?")
        params.append(name)
        if "min" in bounds:
            where.append(f"{o}.raw_mean >= ?")
            params.append(bounds["min"])
        if "max" in bounds:
            where.append(f"{o}.raw_mean <= ?")
            params.append(bounds["max"])
    run_where, run_params = _run_conditions(run_filters)
    where = run_where + where
    params = run_params + params
    sql = f"SELECT DISTINCT r.* FROM training_runs r {' '.join(joins)}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    # Returns list of runs matching ALL criteria
    conn = _get_connection()
    return [dict(row) for row in conn.execute(sql, params).fetchall()]
