// drizzle's `sql` template from its CommonJS build; db/sql.ts says why. A CommonJS file of our own,
// not createRequire() inside an ES module: Vercel's file tracer (nft) resolves a require() made in an
// ES module with the "import" condition and would ship sql/sql.js instead of the sql/sql.cjs that
// Node loads, while a require() here is traced the way Node resolves it.
module.exports = require("drizzle-orm/sql/sql");
