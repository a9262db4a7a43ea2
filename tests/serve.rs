//! `agent serve` tests: the HTTP server, Twilio Media Streams (with a Twilio client simulator),
//! OpenAI SIP calls, and the browser page, all on 127.0.0.1 against the fake Realtime server.

mod serve {
    mod basics;
    mod browser;
    mod cdp;
    mod sip;
    mod support;
    mod twilio;
    mod twilio_sim;
}
