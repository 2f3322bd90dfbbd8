// memlab (a dev dependency, for the .heapsnapshot export's test) depends on puppeteer,
// whose install script would download a browser. leaktrail never drives a browser.
module.exports = { skipDownload: true };
