"""The shared kernel every app may import: errors and the API's error shape, HTTP helpers, model fields,
pagination, schemas, admin helpers and the job toolkit. It imports no app."""
