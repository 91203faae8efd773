// Reads a Parquet file with DuckDB (npm @duckdb/node-api), independently of
// fundflow's Go writer, and prints {columns, types, rows} as JSON with every
// value as text: decimals at their full scale, dates YYYY-MM-DD, timestamps
// YYYY-MM-DDTHH:MM:SS.ffffffZ (UTC), booleans true/false, nulls null.
import { DuckDBInstance } from '@duckdb/node-api';

const file = process.argv[2];
const inst = await DuckDBInstance.create(':memory:');
const c = await inst.connect();
const q = (s) => `'${s.replaceAll("'", "''")}'`;
const desc = (await c.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${q(file)})`)).getRowObjectsJS();
const exprs = desc.map((d) => {
  const col = `"${d.column_name.replaceAll('"', '""')}"`;
  if (d.column_type.startsWith('TIMESTAMP')) {
    return `strftime(${col}::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ')`;
  }
  return `CAST(${col} AS VARCHAR)`;
});
const rows = (await c.runAndReadAll(`SELECT ${exprs.join(', ')} FROM read_parquet(${q(file)})`)).getRowsJS();
const meta = (await c.runAndReadAll(`SELECT count(DISTINCT row_group_id) AS groups FROM parquet_metadata(${q(file)})`)).getRowObjectsJS();
console.log(JSON.stringify({
  columns: desc.map((d) => d.column_name),
  types: desc.map((d) => d.column_type),
  row_groups: Number(meta[0].groups),
  rows,
}));
