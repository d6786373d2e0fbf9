/** The freshness statements a status part sends: last() of its first field, without GROUP BY (the aggregate statement has one). */
export function freshnessStatements(statements: string[], field: string): string[] {
  return statements.filter((statement) => statement.startsWith(`SELECT last("${field}")`) && !statement.includes('GROUP BY'));
}
