'use strict';
// custom-phone-provider's api: api.cache and api.notification.drop/retry
// (https://auth0.com/docs/actions/reference/custom-phone-provider/custom-phone-provider-api-object),
// shared with custom-email-provider in _notification.js.

module.exports = require('./_notification');
