//! Tools the model can call: the [`DynTool`] form the agent loop runs.
