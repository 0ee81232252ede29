// Keep test output free of the SDK's Node-version notice; the CLI does the same.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
