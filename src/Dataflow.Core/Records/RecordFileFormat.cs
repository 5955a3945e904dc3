namespace Dataflow.Core;

/// <summary>How records of a type are laid out in an object.</summary>
public enum RecordFileFormat
{
    /// <summary>One record per line of UTF-8 text, as a <see cref="TextRecordFormat{T}"/> parses and formats it.</summary>
    Text,

    /// <summary>
    /// The binary record format of map-reduce's sorted runs: every record is <c>varint length, the codec's bytes</c>
    /// (<see cref="RecordCodec{T}"/>); read and written by <see cref="RecordStreams"/>.
    /// </summary>
    Binary,
}
